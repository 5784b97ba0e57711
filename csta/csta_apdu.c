//  csta_apdu: life cycle of a csta_apdu_t (init, arena, clear) and the names for logs.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csta_apdu.h"
#include "csta_map.h"

//  One arena allocation; the list is freed by csta_apdu_clear.
typedef struct s_chunk {
    struct s_chunk *next;
    uint8_t data[];
} s_chunk_t;

void csta_apdu_init(csta_apdu_t *a, csta_apdu_kind_t kind)
{
    memset(a, 0, sizeof *a);
    a->kind = kind;
    a->has_argument = kind == CSTA_APDU_INVOKE;
    a->has_result = kind == CSTA_APDU_RESULT;
    if (kind == CSTA_APDU_ERROR) {
        a->error.errcode = CSTA_ERRCODE_UNIVERSAL_FAILURE;
        a->error.has_parameter = true;
    }
}

void csta_apdu_clear(csta_apdu_t *a)
{
    s_chunk_t *chunk = a->arena;
    while (chunk) {
        s_chunk_t *next = chunk->next;
        free(chunk);
        chunk = next;
    }
    csta_apdu_init(a, CSTA_APDU_NONE);
}

int csta_apdu_set_bytes(csta_apdu_t *a, csta_bytes_t *b, const void *data, size_t len)
{
    s_chunk_t *chunk = malloc(sizeof *chunk + (len ? len : 1));
    if (!chunk)
        return -ENOMEM;
    memcpy(chunk->data, data, len);
    chunk->next = a->arena;
    a->arena = chunk;
    b->data = chunk->data;
    b->len = len;
    return 0;
}

const char *csta_apdu_kind_str(csta_apdu_kind_t kind)
{
    switch (kind) {
    case CSTA_APDU_NONE: return "none";
    case CSTA_APDU_INVOKE: return "invoke";
    case CSTA_APDU_RESULT: return "result";
    case CSTA_APDU_ERROR: return "error";
    case CSTA_APDU_REJECT: return "reject";
    case CSTA_APDU_AARQ: return "AARQ";
    case CSTA_APDU_AARE: return "AARE";
    case CSTA_APDU_RLRQ: return "RLRQ";
    case CSTA_APDU_RLRE: return "RLRE";
    case CSTA_APDU_ABRT: return "ABRT";
    }
    return "?";
}

const char *csta_op_name(int opcode)
{
    const csta_op_map_t *op = csta_op_map_find(opcode);
    if (op)
        return op->name;
    static _Thread_local char name[24];
    snprintf(name, sizeof name, "op-%d", opcode);
    return name;
}

const char *csta_err_category_str(csta_err_category_t category)
{
    switch (category) {
    case CSTA_ERR_OPERATION: return "operation";
    case CSTA_ERR_SECURITY: return "security";
    case CSTA_ERR_STATE: return "stateIncompatibility";
    case CSTA_ERR_SYSTEM_RESOURCE: return "systemResourceAvailability";
    case CSTA_ERR_SUBSCRIBED_RESOURCE: return "subscribedResourceAvailability";
    case CSTA_ERR_PERFORMANCE: return "performanceManagement";
    case CSTA_ERR_PRIVATE_DATA: return "privateData";
    case CSTA_ERR_UNSPECIFIED: return "unspecified";
    }
    return "?";
}

bool csta_bits_test(const csta_bits_t *bits, unsigned bit)
{
    if (!bits->present || bit / 8 >= bits->len)
        return false;
    return (bits->bytes[bit / 8] & (0x80 >> (bit % 8))) != 0;
}

void csta_bits_set(csta_bits_t *bits, unsigned bit, unsigned min_octets)
{
    unsigned need = bit / 8 + 1;
    if (need > sizeof bits->bytes)
        return;
    if (min_octets > sizeof bits->bytes)
        min_octets = sizeof bits->bytes;
    if (need < min_octets)
        need = min_octets;
    if (!bits->present || bits->len < need) {
        bits->len = (uint8_t) need;
        bits->unused = 0;
    }
    bits->present = true;
    bits->bytes[bit / 8] |= (uint8_t) (0x80 >> (bit % 8));
}
