//  node_ptrmap: a zhashx keyed by pointer identity (node_ptrmap.h).
#include "node_ptrmap.h"

static size_t s_hash(const void *key)
{
    uintptr_t v = (uintptr_t) key;
    return (size_t) (v ^ (v >> 17) ^ (v >> 31));
}

static int s_compare(const void *a, const void *b)
{
    return a == b ? 0 : (uintptr_t) a < (uintptr_t) b ? -1 : 1;
}

zhashx_t *node_ptrmap_new(void)
{
    zhashx_t *t = zhashx_new();
    if (t) {
        zhashx_set_key_hasher(t, s_hash);
        zhashx_set_key_comparator(t, s_compare);
        zhashx_set_key_duplicator(t, NULL);
        zhashx_set_key_destructor(t, NULL);
    }
    return t;
}
