//  csta_types: constructors and comparisons of the building blocks (csta_types.h).
#include <string.h>

#include "csta_types.h"

void csta_device_set(csta_device_t *dev, const char *digits)
{
    memset(dev, 0, sizeof *dev);
    dev->kind = CSTA_DEV_DIALING;
    strncpy(dev->digits, digits, CSTA_DIGITS_MAX);
}

void csta_device_set_number(csta_device_t *dev, long number)
{
    memset(dev, 0, sizeof *dev);
    dev->kind = CSTA_DEV_NUMBER;
    dev->number = number;
}

void csta_conn_set(csta_conn_t *conn, const uint8_t *call_id, size_t call_id_len,
                   const char *device_digits)
{
    memset(conn, 0, sizeof *conn);
    conn->present = true;
    if (call_id_len > CSTA_CALL_ID_MAX)
        call_id_len = CSTA_CALL_ID_MAX;
    if (call_id)
        memcpy(conn->call_id, call_id, call_id_len);
    conn->call_id_len = (uint8_t) call_id_len;
    if (device_digits)
        csta_device_set(&conn->device, device_digits);
}

void csta_xref_set(csta_xref_t *xref, const void *bytes, size_t len)
{
    if (len > CSTA_XREF_MAX)
        len = CSTA_XREF_MAX;
    memcpy(xref->bytes, bytes, len);
    xref->len = (uint8_t) len;
}

bool csta_device_equal(const csta_device_t *a, const csta_device_t *b)
{
    if (a->kind != b->kind)
        return false;
    if (a->kind == CSTA_DEV_NUMBER)
        return a->number == b->number;
    if (a->kind == CSTA_DEV_EXPLICIT_PUBLIC || a->kind == CSTA_DEV_EXPLICIT_PRIVATE)
        if (a->ton != b->ton)
            return false;
    return strcmp(a->digits, b->digits) == 0;
}

bool csta_conn_equal(const csta_conn_t *a, const csta_conn_t *b)
{
    return a->call_id_len == b->call_id_len &&
           memcmp(a->call_id, b->call_id, a->call_id_len) == 0 &&
           csta_device_equal(&a->device, &b->device);
}

bool csta_xref_equal(const csta_xref_t *a, const csta_xref_t *b)
{
    return a->len == b->len && memcmp(a->bytes, b->bytes, a->len) == 0;
}
