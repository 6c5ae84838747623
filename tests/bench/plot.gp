# plot.gp — create latency against live blocks, lmm and Python, from the data
# that bench-lmm --data writes. tests/bench/run calls it with data= and out=.
set terminal pngcairo size 720,420 font "sans,9"
set output out
set title "create + map + touch of a 4 KiB block as blocks accumulate"
set logscale xy
set xlabel "live blocks in the manager"
set ylabel "µs (median, dashed: p99)"
set format y "%g"
set grid
set key bottom right
set datafile missing "NaN"
plot data using 1:2 with linespoints lw 3 pt 7 ps 1.2 lc rgb "#1f77b4" title "lmm unnamed", \
     data using 1:4 with linespoints lw 1 pt 4 ps 1.6 lc rgb "#2ca02c" title "lmm named", \
     data using 1:6 with linespoints lw 2 pt 9 lc rgb "#d62728" title "Python smm.SharedMemory", \
     data using 1:3 with lines dt 2 lc rgb "#1f77b4" notitle, \
     data using 1:5 with lines dt 2 lc rgb "#2ca02c" notitle, \
     data using 1:7 with lines dt 2 lc rgb "#d62728" notitle
