#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""
gen-man3 — liblmm's section 3 man pages, written from lib/lmm.h so that they
cannot drift from it: the header is the one source of every prototype, type
and word of description, and the examples are the programs in examples/
that the build compiles and runs.

One page per family, a family being a section of the header (the lines
"/* ------------ client */" and so on): lmm-client(3), lmm-blocks(3), ...
Each has the section's prototypes (SYNOPSIS), its text, types and
functions in the header's order (DESCRIPTION), what each function returns
(RETURN VALUE, from the "Return:" of its kernel-doc comment), the examples
that name the page, and the other pages (SEE ALSO). Every function, inline
helper and type of a family also gets a page of its own name that
is a ".so" link to the family's, so that "man lmm_segment_open" works.
lmm(3), the overview, is docs/lmm.3.scd.in with what the header says
before its first section (its first comment, types, and any function
declared there, which then links to lmm(3)), the list of families and its
example filled in.

The header's kernel-doc comments, as this reads them:

    /**
     * name() - summary, which may go on
     *          over lines
     * @param: description, continued on
     *         indented lines
     *
     * Body paragraphs, separated by blank lines.
     *
     * Return: what it returns, to the end of the comment.
     */

or on one line: /** name() - summary. Return: what it returns. */. Other
comments right above a declaration belong to it and are shown with it;
comments followed by a blank line are text of their own. A name that ends
in "_" is private and left out, as are the C++ parts.

    gen-man3.py --list HEADER           the pages and links it writes, one a line
    gen-man3.py --check HEADER          what the header lacks: exit 1 if anything
    gen-man3.py --outdir DIR --scdoc SCDOC --overview lmm.3.scd.in \\
                HEADER [EXAMPLE.c ...]  write DIR/*.3

An example names the pages it belongs on with a line " * Shown in PAGE(3)."
(several: "lmm(3), lmm-blocks(3)") in its first comment.
"""

import argparse
import os
import re
import subprocess
import sys

# ---------------------------------------------------------------- reading the header


class Comment:
    def __init__(self, text, doc, line):
        self.text = text  # without /* */ and the leading " * "
        self.doc = doc  # a /** kernel-doc comment
        self.line = line


class Decl:
    def __init__(self, text, kind, names, line):
        self.text = text  # verbatim
        self.kind = kind  # 'function', 'inline', 'type', 'macro'
        self.names = names  # what it declares, that a reader may look up
        self.line = line
        self.comment = None  # the Comment right above it
        self.returns_void = False


class Section:
    def __init__(self, title, line):
        self.title = title
        self.line = line
        self.items = []  # Comment (text of its own) and Decl, in order

    @property
    def page(self):
        return 'lmm-' + re.sub(r'[^a-z0-9]+', '-', self.title.lower()).strip('-')

    def functions(self):
        return [d for d in self.items if isinstance(d, Decl) and d.kind == 'function']

    def link_names(self):
        names = []
        for d in self.items:
            if isinstance(d, Decl):
                names += d.names
        return names


MARKER = re.compile(r'^-{10,}\s+(.*?)\s*$')


def comment_lines(raw):
    """The lines of a comment without /*, */ and the leading " * "."""
    body = raw[2:-2]
    if body.startswith('*'):
        body = body[1:]
    lines = body.split('\n')
    out = []
    for i, l in enumerate(lines):
        if i > 0:
            m = re.match(r'^\s*\* ?(.*)$', l)
            l = m.group(1) if m else l.strip()
        out.append(l.rstrip())
    while out and not out[0].strip():
        out.pop(0)
    while out and not out[-1].strip():
        out.pop()
    if out:
        out[0] = out[0].strip()
    return out


def private(name):
    return name.endswith('_')


def decl_names(text):
    """The names a declaration gives a reader to look up, and its kind."""
    t = re.sub(r'/\*.*?\*/', '', text, flags=re.S)
    m = re.match(r'LMM_EXPORT\s+(.*?)\b(\w+)\s*\(', t, re.S)
    if m:
        return 'function', [m.group(2)]
    m = re.match(r'static\s+inline\s+(.*?)\b(\w+)\s*\(', t, re.S)
    if m:
        return 'inline', [] if private(m.group(2)) else [m.group(2)]
    # typedef struct x { ... } x;  typedef struct x x;  typedef ... (*f)(...);
    m = (re.match(r'typedef\s+(?:struct|union|enum)\s+\w+\s*\{.*\}\s*(\w+)\s*;\s*$', t, re.S) or
         re.match(r'typedef\s+(?:struct|union|enum)\s+\w+\s+(\w+)\s*;\s*$', t) or
         re.match(r'typedef\s[^(]*\(\s*\*\s*(\w+)\s*\)\s*\(', t))
    if m and not private(m.group(1)):
        return 'type', [m.group(1)]
    return 'type', []


def read_header(path):
    src = open(path, encoding='utf-8').read()
    prelude = Section('', 1)
    sections = [prelude]
    pos, n, line = 0, len(src), 1
    pending = None  # a comment that may belong to the next declaration
    blank_since = False  # a blank line since the pending comment
    skip_depth = 0  # inside #ifdef __cplusplus
    ifs = []  # for each open #if: whether it is __cplusplus's

    def flush():
        nonlocal pending
        if pending is not None:
            sections[-1].items.append(pending)
            pending = None

    while pos < n:
        c = src[pos]
        if c == '\n':
            # A line with nothing on it, since the last comment or declaration?
            j = src.rfind('\n', 0, pos)
            if src[j + 1:pos].strip() == '' and j >= 0:
                blank_since = True
            line += 1
            pos += 1
            continue
        if c in ' \t':
            pos += 1
            continue
        if src.startswith('/*', pos):
            end = src.index('*/', pos) + 2
            raw = src[pos:end]
            start_line = line
            line += raw.count('\n')
            pos = end
            if skip_depth:
                continue
            lines = comment_lines(raw)
            m = MARKER.match(lines[0]) if lines else None
            if m and not raw.startswith('/**'):
                flush()
                sec = Section(m.group(1), start_line)
                sections.append(sec)
                intro = lines[1:]
                if any(l.strip() for l in intro):
                    sec.items.append(Comment('\n'.join(intro), False, start_line))
                continue
            flush()
            pending = Comment('\n'.join(lines), raw.startswith('/**'), start_line)
            blank_since = False
            continue
        if c == '#':
            end = pos
            while True:
                e = src.find('\n', end)
                e = n if e < 0 else e
                if src[pos:e].rstrip().endswith('\\') and e < n:
                    end = e + 1
                    continue
                break
            text = src[pos:e]
            line += text.count('\n')
            pos = e
            d = text.split()
            if pending is not None and not blank_since and not skip_depth and not (
                    d[0] == '#define' and re.match(r'#define\s+\w*[A-Za-z0-9](\W|$)', text)):
                pending = None  # the comment of something private, or C++'s
            if d[0] in ('#if', '#ifdef', '#ifndef'):
                cxx = len(d) > 1 and d[1] == '__cplusplus' and d[0] != '#ifndef'
                ifs.append(cxx)
                skip_depth += cxx
            elif d[0] == '#else' and ifs and ifs[-1]:
                ifs[-1] = False
                skip_depth -= 1
            elif d[0] == '#endif' and ifs:
                skip_depth -= ifs.pop()
            elif d[0] == '#define' and not skip_depth:
                m = re.match(r'#define\s+(\w+)', text)
                if m and not private(m.group(1)) and m.group(1) != 'LMM_EXPORT':
                    dd = Decl(text, 'macro', [], line - text.count('\n'))
                    if pending is not None and not blank_since:
                        dd.comment, pending = pending, None
                    flush()
                    sections[-1].items.append(dd)
                    continue
            flush()
            continue
        if skip_depth:  # C++ only: skip the line
            e = src.find('\n', pos)
            pos = n if e < 0 else e
            continue
        # A declaration: up to ";" outside braces, or a function body's "}".
        start, start_line, depth, i = pos, line, 0, pos
        while i < n:
            ch = src[i]
            if src.startswith('/*', i):
                i = src.index('*/', i) + 2
                continue
            if ch == '"':
                i = src.index('"', i + 1) + 1
                continue
            if ch == '{':
                depth += 1
            elif ch == '}':
                depth -= 1
                if depth == 0 and re.search(r'\)\s*$', src[start:src.index('{', start)]):
                    i += 1
                    break
            elif ch == ';' and depth == 0:
                i += 1
                break
            i += 1
        text = src[start:i]
        line += text.count('\n')
        pos = i
        kind, names = decl_names(text)
        d = Decl(text, kind, names, start_line)
        if kind == 'function':
            d.returns_void = bool(re.match(r'LMM_EXPORT\s+void\s+\w+\s*\(', text))
        if pending is not None and (not blank_since or
                                    (pending.doc and kind == 'function' and
                                     pending.text.startswith(names[0] + '()'))):
            d.comment, pending = pending, None
        flush()
        sections[-1].items.append(d)
    flush()
    return sections


class KernelDoc:
    """A /** name() - summary ... Return: ... */ comment, taken apart."""

    def __init__(self, text):
        m = re.match(r'(\w+)\(\)\s+-\s+(.*)', text, re.S)
        self.name = m.group(1) if m else None
        rest = m.group(2) if m else text
        # "Return:" anywhere, also in the middle of a line, to the end.
        r = re.search(r'(^|(?<=[.\s]))Return:\s*', rest)
        self.returns = None
        if r:
            self.returns = ' '.join(rest[r.end():].split())
            rest = rest[:r.start()].rstrip()
        lines = rest.split('\n')
        summary, params, i = [], [], 0
        while i < len(lines) and lines[i].strip() and not re.match(r'@\w+:', lines[i]):
            summary.append(lines[i].strip())
            i += 1
        while i < len(lines) and lines[i].startswith('@'):
            pm = re.match(r'@(\w+):\s*(.*)', lines[i])
            if not pm:
                break
            desc = [pm.group(2)]
            i += 1
            while i < len(lines) and lines[i][:1].isspace() and lines[i].strip():
                desc.append(lines[i].strip())
                i += 1
            params.append((pm.group(1), ' '.join(desc)))
        self.summary = ' '.join(summary)
        self.params = params
        self.body = '\n'.join(lines[i:]).strip('\n')


# ---------------------------------------------------------------- writing scdoc


def prose(text):
    """Comment text as scdoc: paragraphs, "- " lists, @params underlined,
    function() names in bold, and scdoc's own characters escaped."""
    out = []
    for para in re.split(r'\n\s*\n', text.strip('\n')):
        items, cur = [], None
        for l in para.split('\n'):
            s = l.strip()
            if s.startswith('- '):
                cur = ['- ', s[2:]]
                items.append(cur)
            elif cur is not None and l[:1].isspace():
                cur.append(s)
            else:
                cur = None
                if items and items[-1][0] == '':
                    items[-1].append(s)
                else:
                    items.append(['', s])
        out.append('\n'.join(i[0] + inline(' '.join(i[1:])) for i in items))
    return '\n\n'.join(out)


def inline(s):
    # *word*, the header's emphasis, is underlined as man pages do.
    s = re.sub(r'(?<![\w*])\*([A-Za-z]+)\*(?![\w*])', '\x01\\1\x02', s)
    s = s.replace('\\', '\\\\').replace('*', '\\*')
    s = re.sub(r'(?<![A-Za-z0-9])_', r'\\_', s)
    s = re.sub(r'`', "'", s)
    s = re.sub(r'@(\w+)', lambda m: '_' + m.group(1) + '_', s)
    s = s.replace('\x01', '_').replace('\x02', '_')
    s = re.sub(r'(?<![\w\\])([A-Za-z]\w*)\(\)', r'*\1*()', s)
    if s.startswith('-'):  # not a list
        s = '\\' + s
    return s


def code(text):
    # scdoc reads backslash escapes in literal blocks too.
    return '```\n' + text.rstrip('\n').replace('\\', '\\\\') + '\n```'


def prototype(d):
    t = d.text
    if t.startswith('LMM_EXPORT '):
        # Without the macro, and its continuation lines aligned again.
        cut = len('LMM_EXPORT ')
        lines = t[cut:].split('\n')
        t = '\n'.join([lines[0]] + [l[cut:] if l[:cut].isspace() else l for l in lines[1:]])
    if d.kind == 'inline':
        t = t[:t.index('{')].rstrip() + ';'
    return t


def shown_text(d):
    """A type, macro or inline helper as the reader sees it in the header,
    with its comment; an inline helper without its body."""
    t = prototype(d) if d.kind == 'inline' else d.text
    if d.comment:
        c = d.comment.text.split('\n')
        if len(c) == 1:
            t = '/* ' + c[0] + ' */\n' + t
        else:
            t = '/*\n' + '\n'.join((' * ' + l).rstrip() for l in c) + '\n */\n' + t
    return t


def examples_for(page, examples):
    out = []
    for path, pages, text in examples:
        if page in pages:
            out.append('_%s_, from liblmm\'s sources:\n\n%s' % (os.path.basename(path), code(text)))
    return out


def read_examples(paths):
    out = []
    for p in paths:
        text = open(p, encoding='utf-8').read()
        pages = []
        kept = []
        for l in text.split('\n'):
            m = re.match(r'^ \* Shown in (.*)\.$', l)
            if m:
                pages += re.findall(r'([\w-]+)\(3\)', m.group(1))
                if kept and kept[-1] == ' *':  # and the line that set it apart
                    kept.pop()
                continue
            if l.startswith('/* SPDX-License-Identifier'):
                continue
            kept.append(l)
        out.append((p, pages, '\n'.join(kept).strip('\n')))
    return out


def synopsis(items):
    protos = [prototype(d) for d in items if isinstance(d, Decl) and d.kind in
              ('function', 'inline')]
    return [code('\n\n'.join(protos)), ''] if protos else []


def description(items, skip=()):
    """Comments as text, types in code, each function in a subsection."""
    w, group = [], []  # group: types, macros and inline helpers in a row, one block

    def end_group():
        if group:
            text = shown_text(group[0])
            for prev, d in zip(group, group[1:]):
                # Lines that were together in the header stay together.
                together = d.comment is None and d.line == prev.line + prev.text.count('\n') + 1
                text += ('\n' if together else '\n\n') + shown_text(d)
            w.extend([code(text), ''])
            group.clear()

    for it in items:
        if it in skip:
            continue
        if isinstance(it, Comment):
            end_group()
            w += [prose(it.text), '']
        elif it.kind != 'function':
            group.append(it)
        else:
            end_group()
            w += ['## %s()' % it.names[0], '']
            kd = KernelDoc(it.comment.text) if it.comment and it.comment.doc else None
            if kd is None or kd.name != it.names[0]:
                w += ['Not documented in lmm.h.', '']
                continue
            summary = kd.summary
            if re.match(r'[a-z]+\b(?![_(])', summary):  # not an identifier
                summary = summary[:1].upper() + summary[1:]
            if summary and summary[-1] not in '.:)"':
                summary += '.'
            w += [prose(summary), '']
            for p, desc in kd.params:
                w += ['_%s_' % p, '\t' + inline(desc), '']
            if kd.body:
                w += [prose(kd.body), '']
    end_group()
    return w


def return_values(items):
    fns = [d for d in items if isinstance(d, Decl) and d.kind == 'function']
    if not fns:
        return []
    w = ['# RETURN VALUE', '']
    for d in fns:
        kd = KernelDoc(d.comment.text) if d.comment and d.comment.doc else None
        if d.returns_void:
            text = 'Returns nothing.'
        elif kd and kd.returns:
            text = inline(kd.returns)
        else:
            text = 'Not documented in lmm.h.'
        w += ['*%s*()' % d.names[0], '\t' + text, '']
    return w


def family_page(sec, sections, examples):
    names = [sec.page] + [n for d in sec.items if isinstance(d, Decl) and d.kind in
                           ('function', 'inline') for n in d.names]
    w = ['%s(3)' % sec.page, '', '# NAME', '', '%s - liblmm: %s' % (', '.join(names), sec.title),
         '', '# SYNOPSIS', '', '*#include <lmm.h>*', '']
    w += synopsis(sec.items)
    w += ['Link with *-llmm* (*pkg-config --cflags --libs liblmm*).', '', '# DESCRIPTION', '']
    w += description(sec.items)
    w += return_values(sec.items)
    ex = examples_for(sec.page, examples)
    if ex:
        w += ['# EXAMPLE', ''] + [e + '\n' for e in ex]
    w += ['# SEE ALSO', '', see_also(sec.page, sections), '']
    return '\n'.join(w)


def see_also(page, sections):
    refs = ['*lmm*(3)'] if page != 'lmm' else []
    refs += ['*%s*(3)' % s.page for s in sections[1:] if s.page != page]
    refs += ['*lmmd*(8)', '*lmmctl*(1)', '*memfd_create*(2)']
    return ', '.join(refs)


def overview_page(template, sections, examples):
    """lmm(3): the template, with what comes before the header's first
    section (its first comment, its types, and any function declared there)
    and the list of families filled in."""
    prelude = sections[0]
    conv = next((c for c in prelude.items if isinstance(c, Comment)), None)
    fams = []
    for s in sections[1:]:
        fns = ', '.join('*%s*()' % d.names[0] for d in s.functions())
        fams += ['*%s*(3)' % s.page, '\t' + (s.title[:1].upper() + s.title[1:]) +
                 (': ' + fns if fns else '') + '.', '']
    values = {
        '@PROTOTYPES@': '\n'.join(synopsis(prelude.items)).rstrip('\n'),
        '@HEADER_COMMENT@': prose(conv.text) if conv else '',
        '@HEADER_TYPES@': '\n'.join(description(prelude.items, skip=[conv])).rstrip('\n'),
        '@RETURN_VALUE@': '\n'.join(return_values(prelude.items)).rstrip('\n'),
        '@FAMILIES@': '\n'.join(fams).rstrip('\n'),
        '@EXAMPLE@': '\n'.join(examples_for('lmm', examples)).rstrip('\n'),
        '@SEE_ALSO@': see_also('lmm', sections),
    }
    out = template
    for k, v in values.items():
        out = out.replace(k, v)
    left = re.findall(r'@[A-Z_]+@', out)
    if left:
        sys.exit('gen-man3: the overview template: no value for %s' % ', '.join(left))
    return re.sub(r'\n{3,}', '\n\n', out)


# ---------------------------------------------------------------- what the header lacks


def problems(sections):
    out = []
    for s in sections:
        for d in s.items:
            if not isinstance(d, Decl) or d.kind != 'function':
                continue
            name = d.names[0]
            where = 'lmm.h:%d: %s()' % (d.line, name)
            if not d.comment or not d.comment.doc:
                out.append('%s: no /** %s() - ... */ comment above it' % (where, name))
                continue
            kd = KernelDoc(d.comment.text)
            if kd.name != name:
                out.append('%s: the comment above it is for %s()' % (where, kd.name))
            elif not d.returns_void and not kd.returns:
                out.append('%s: no "Return:" in its comment' % where)
    return out


def outputs(sections):
    pages = ['lmm.3'] + [s.page + '.3' for s in sections[1:]]
    links = [(n + '.3', 'lmm.3') for n in sections[0].link_names()]
    for s in sections[1:]:
        links += [(n + '.3', s.page + '.3') for n in s.link_names()]
    return pages, links


def main():
    ap = argparse.ArgumentParser(description='liblmm man pages from lmm.h')
    ap.add_argument('header')
    ap.add_argument('examples', nargs='*')
    ap.add_argument('--list', action='store_true')
    ap.add_argument('--check', action='store_true')
    ap.add_argument('--outdir')
    ap.add_argument('--scdoc')
    ap.add_argument('--overview')
    a = ap.parse_args()

    sections = read_header(a.header)
    pages, links = outputs(sections)
    seen = set()
    for name in pages + [l for l, _ in links]:
        if name in seen:
            sys.exit('gen-man3: two pages named %s' % name)
        seen.add(name)

    if a.list:
        print('\n'.join(pages + [l for l, _ in links]))
        return
    if a.check:
        p = problems(sections)
        for l in p:
            print(l)
        if p:
            sys.exit(1)
        n = sum(len(s.functions()) for s in sections)
        print('lmm.h: %d functions in %d sections, each with a kernel-doc comment and, '
              'unless void, a "Return:"' % (n, len(sections) - 1))
        return

    if not (a.outdir and a.scdoc and a.overview):
        ap.error('--outdir, --scdoc and --overview are needed to write pages')
    examples = read_examples(a.examples)
    known = set(p[:-2] for p in pages)
    for path, ps, _ in examples:
        for p in ps:
            if p not in known:
                sys.exit('gen-man3: %s: "Shown in %s(3)": there is no such page' % (path, p))
    texts = {'lmm.3': overview_page(open(a.overview, encoding='utf-8').read(), sections,
                                    examples)}
    for s in sections[1:]:
        texts[s.page + '.3'] = family_page(s, sections, examples)
    for name, scd in texts.items():
        r = subprocess.run([a.scdoc], input=scd.encode(), capture_output=True)
        if r.returncode != 0:
            sys.exit('gen-man3: scdoc failed on %s: %s' % (name, r.stderr.decode().strip()))
        with open(os.path.join(a.outdir, name), 'wb') as f:
            f.write(r.stdout)
    for name, target in links:
        with open(os.path.join(a.outdir, name), 'w') as f:
            f.write('.so man3/%s\n' % target)


if __name__ == '__main__':
    main()
