/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lmm-seed — the example from Python's SharedMemoryManager documentation,
 * in C:
 *
 *     >>> smm = SharedMemoryManager()
 *     >>> smm.start()
 *     >>> sl = smm.ShareableList(range(4))
 *     >>> raw_shm = smm.SharedMemory(size=128)
 *     >>> another_sl = smm.ShareableList('alpha')
 *     >>> smm.shutdown()
 */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "lmm.h"

static void print_list(lmm_list *l) {
        printf("ShareableList([");
        for (size_t i = 0; i < lmm_list_len(l); i++) {
                char buf[64];
                lmm_item it;

                if (lmm_list_get(l, i, &it, buf, sizeof(buf)) < 0)
                        continue;
                if (it.type == LMM_ITEM_INT)
                        printf("%s%" PRId64, i ? ", " : "", it.i);
                else if (it.type == LMM_ITEM_STR)
                        printf("%s'%.*s'", i ? ", " : "", (int) it.buf.len,
                               (const char *) it.buf.data);
        }
        printf("], name='%s')\n", lmm_list_get_name(l));
}

int main(void) {
        _lmm_cleanup_(lmm_server_unrefp) lmm_server *smm = NULL;
        lmm_list *sl = NULL, *another_sl = NULL;
        lmm_segment *raw_shm = NULL;
        lmm_item range4[4], alpha[5];
        lmm_client *c;
        int r;

        /* smm = SharedMemoryManager(); smm.start() */
        r = lmm_server_start(NULL, &smm);
        if (r < 0) {
                fprintf(stderr, "lmm-seed: cannot start a manager: %s\n", strerror(-r));
                return 1;
        }
        c = lmm_server_get_client(smm);

        /* sl = smm.ShareableList(range(4)) */
        for (int i = 0; i < 4; i++)
                range4[i] = lmm_item_int(i);
        r = lmm_list_create(c, NULL, range4, 4, 0, &sl);
        if (r < 0)
                goto fail;
        print_list(sl);

        /* raw_shm = smm.SharedMemory(size=128) */
        r = lmm_segment_create(c, &(lmm_segment_opts){ .size = 128 }, &raw_shm);
        if (r < 0)
                goto fail;
        printf("SharedMemory(name='%s', size=%" PRIu64 ")\n", lmm_segment_get_name(raw_shm),
               lmm_segment_get_size(raw_shm));

        /* another_sl = smm.ShareableList('alpha') */
        for (int i = 0; i < 5; i++)
                alpha[i] = lmm_item_strn(&"alpha"[i], 1);
        r = lmm_list_create(c, NULL, alpha, 5, 0, &another_sl);
        if (r < 0)
                goto fail;
        print_list(another_sl);

        /* smm.shutdown(): every block sealed, the manager's references dropped */
        r = lmm_server_shutdown(smm);
        if (r < 0)
                goto fail;
        printf("shut down; our own handles still read: sl[3] = ");
        {
                lmm_item it;
                if (lmm_list_get(sl, 3, &it, NULL, 0) == 0)
                        printf("%" PRId64 "\n", it.i);
        }
        lmm_list_unref(sl);
        lmm_list_unref(another_sl);
        lmm_segment_unref(raw_shm);
        return 0;

fail:
        /* c is smm's and stays valid until smm goes, at the end of this
         * scope: also after lmm_server_shutdown(), which may be what failed. */
        fprintf(stderr, "lmm-seed: %s\n",
                lmm_client_last_error(c) ? lmm_client_last_error(c) : strerror(-r));
        lmm_list_unref(sl);
        lmm_list_unref(another_sl);
        lmm_segment_unref(raw_shm);
        return 1;
}
