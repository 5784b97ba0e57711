//  pbxsim_capture_driver: a scripted CSTA session against a running pbxsim, for
//  pbxsim_capture_check.sh to capture: monitors, calls made, held, retrieved, cleared, an
//  inbound call, snapshots, the segmented device list, CDR records with their
//  acknowledgements, an error, a Reject, SystemStatus both ways, a burst of generated
//  traffic, and a release.  It counts the APDUs it sent and received, so the capture
//  can be checked for at least as many.
//      pbxsim_capture_driver PORT CTL_PATH
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "csta.h"
#include "csta_client.h"
#include "test_pbxsim.h"

#define S_WAIT_MS 10000

static long s_sent, s_received;
static csta_client_t *s_app;
static test_pbxsim_t s_sim;

static void s_die(const char *what, int rc)
{
    fprintf(stderr, "pbxsim_capture_driver: %s: %s\n", what, rc ? strerror(rc < 0 ? -rc : rc) : "");
    exit(1);
}

//  Handle one unsolicited invoke: CDR reports are acknowledged (SystemStatus the client
//  answers itself).
static void s_on_event(csta_apdu_t *ev)
{
    s_received++;
    if (ev->opcode == CSTA_OP_SYSTEM_STATUS)
        s_sent++;                       //  csta_client answered it
    if (ev->opcode == CSTA_OP_CDR_REPORT) {
        csta_apdu_t ack;
        csta_apdu_init(&ack, CSTA_APDU_RESULT);
        ack.invoke_id = ev->invoke_id;
        ack.opcode = CSTA_OP_CDR_REPORT;
        int rc = csta_client_reply(s_app, &ack);
        if (rc)
            s_die("CDR acknowledgement", rc);
        s_sent++;
    }
    csta_apdu_clear(ev);
}

//  Take the events that have come within ms.
static void s_drain(int ms)
{
    csta_apdu_t ev;
    int rc;
    while ((rc = csta_client_next_event(s_app, &ev, ms)) == 0)
        s_on_event(&ev);
    if (rc != -ETIMEDOUT)
        s_die("reading events", rc);
}

//  Send a request and take its reply (result, error or reject: all count).
static void s_call(csta_apdu_t *req, csta_apdu_t *res)
{
    int rc = csta_client_call(s_app, req, res, S_WAIT_MS);
    if (rc)
        s_die(csta_op_name(req->opcode), rc);
    s_sent++;
    s_received++;
}

static void s_request(csta_apdu_t *req)
{
    csta_apdu_t res;
    s_call(req, &res);
    csta_apdu_clear(&res);
}

static void s_ctl(const char *fmt, const char *arg)
{
    char reply[4096];
    if (test_pbxsim_ctl(&s_sim, reply, sizeof reply, fmt, arg))
        s_die(reply, 0);
}

static void s_monitor(const char *number)
{
    csta_apdu_t req;
    csta_apdu_init(&req, CSTA_APDU_INVOKE);
    req.opcode = CSTA_OP_MONITOR_START;
    csta_device_set(&req.svc.monitor_start.device, number);
    s_request(&req);
}

static void s_conn_of(csta_conn_t *conn, const csta_conn_t *call, const char *number)
{
    *conn = *call;
    csta_device_set(&conn->device, number);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: pbxsim_capture_driver PORT CTL_PATH\n");
        return 2;
    }
    snprintf(s_sim.ctl, sizeof s_sim.ctl, "%s", argv[2]);
    csta_client_cfg_t cfg = {.port = atoi(argv[1]), .timeout_ms = S_WAIT_MS,
                             .keep_system_status = true};
    s_app = csta_client_new(&cfg);
    int rc = s_app ? csta_client_connect(s_app) : -ENOMEM;
    if (rc)
        s_die("connect", rc);
    s_sent++;                           //  AARQ
    s_received++;                       //  AARE

    const char *numbers[] = {"101", "102", "103", "104", "105"};
    for (size_t i = 0; i < sizeof numbers / sizeof numbers[0]; i++)
        s_monitor(numbers[i]);

    csta_apdu_t req, res;
    csta_apdu_init(&req, CSTA_APDU_INVOKE);
    req.opcode = CSTA_OP_START_CDR;
    req.svc.start_call_detail_records_transmission.transfer_mode = CSTA_CDR_AT_END_OF_CALL;
    s_call(&req, &res);
    uint8_t cdr_xref[16];
    size_t cdr_xref_len = res.svc.start_call_detail_records_transmission_res.cdr_xref.len;
    if (res.kind != CSTA_APDU_RESULT || cdr_xref_len > sizeof cdr_xref)
        s_die("StartCallDetailRecordsTransmission refused", 0);
    memcpy(cdr_xref, res.svc.start_call_detail_records_transmission_res.cdr_xref.data,
           cdr_xref_len);
    csta_apdu_clear(&res);

    //  101 calls 102; 102 answers; 101 holds, retrieves, hangs up.
    csta_apdu_init(&req, CSTA_APDU_INVOKE);
    req.opcode = CSTA_OP_MAKE_CALL;
    csta_device_set(&req.call.make_call.calling, "101");
    csta_device_set(&req.call.make_call.called, "102");
    s_call(&req, &res);
    csta_conn_t ca = res.call.make_call_res.calling, cb;
    csta_apdu_clear(&res);
    s_conn_of(&cb, &ca, "102");
    s_drain(200);
    csta_apdu_init(&req, CSTA_APDU_INVOKE);
    req.opcode = CSTA_OP_ANSWER_CALL;
    req.call.answer_call.call_to_be_answered = cb;
    s_request(&req);
    csta_apdu_init(&req, CSTA_APDU_INVOKE);
    req.opcode = CSTA_OP_HOLD_CALL;
    req.call.hold_call.call_to_be_held = ca;
    s_request(&req);
    csta_apdu_init(&req, CSTA_APDU_INVOKE);
    req.opcode = CSTA_OP_RETRIEVE_CALL;
    req.call.retrieve_call.call_to_be_retrieved = ca;
    s_request(&req);
    csta_apdu_init(&req, CSTA_APDU_INVOKE);
    req.opcode = CSTA_OP_SNAPSHOT_DEVICE;
    csta_device_set(&req.svc.snapshot_device.snapshot_object, "101");
    s_request(&req);
    csta_apdu_init(&req, CSTA_APDU_INVOKE);
    req.opcode = CSTA_OP_CLEAR_CONNECTION;
    req.call.clear_connection.connection = ca;
    s_request(&req);
    s_drain(200);

    //  An outside caller with a name rings 103, who answers and hangs up.
    s_ctl("call-in 0301234567 103 %s", "Outside Caller");
    s_drain(200);
    s_ctl("answer %s", "103");
    s_ctl("hangup %s", "103");

    //  The device list in segments, system status, registration.
    csta_apdu_init(&req, CSTA_APDU_INVOKE);
    req.opcode = CSTA_OP_GET_SWITCHING_FUNCTION_DEVICES;
    s_request(&req);
    csta_apdu_init(&req, CSTA_APDU_INVOKE);
    req.opcode = CSTA_OP_REQUEST_SYSTEM_STATUS;
    s_request(&req);
    csta_apdu_init(&req, CSTA_APDU_INVOKE);
    req.opcode = CSTA_OP_SYSTEM_REGISTER;
    csta_bits_set(&req.svc.system_register.request_types, CSTA_REG_SYSTEM_STATUS, 1);
    s_request(&req);

    //  An error (no such device) and a Reject (unknown operation 999, invoke id 30000).
    csta_apdu_init(&req, CSTA_APDU_INVOKE);
    req.opcode = CSTA_OP_MONITOR_START;
    csta_device_set(&req.svc.monitor_start.device, "999");
    s_request(&req);
    static const uint8_t unknown[] = {0xa1, 0x0a, 0x02, 0x02, 0x75, 0x30, 0x02, 0x02,
                                      0x03, 0xe7, 0x05, 0x00};
    rc = csta_client_send_raw(s_app, unknown, sizeof unknown);
    if (rc == 0)
        rc = csta_client_wait_reply(s_app, 30000, &res, S_WAIT_MS);
    if (rc)
        s_die("unknown operation", rc);
    csta_apdu_clear(&res);
    s_sent++;
    s_received++;

    //  A second of generated calls between the five monitored extensions and the others.
    s_ctl("traffic %s", "10 1 50 100");
    long long deadline = test_now_ms() + 30000;
    for (;;) {
        s_drain(100);
        char stats[4096];
        if (test_pbxsim_ctl(&s_sim, stats, sizeof stats, "stats"))
            s_die(stats, 0);
        if (strstr(stats, "\"running\":false") && test_json_long(stats, "cdr_acked", -1) ==
                                                      test_json_long(stats, "cdr_sent", -2))
            break;
        if (test_now_ms() > deadline)
            s_die("traffic did not end", ETIMEDOUT);
    }
    s_drain(100);

    //  Stop the CDR flow and release.
    csta_apdu_init(&req, CSTA_APDU_INVOKE);
    req.opcode = CSTA_OP_STOP_CDR;
    req.svc.stop_call_detail_records_transmission.cdr_xref = (csta_bytes_t){cdr_xref, cdr_xref_len};
    s_request(&req);
    rc = csta_client_release(s_app, S_WAIT_MS);
    if (rc)
        s_die("release", rc);
    s_sent++;                           //  RLRQ
    s_received++;                       //  RLRE
    csta_client_destroy(&s_app);
    printf("apdus sent=%ld received=%ld total=%ld\n", s_sent, s_received, s_sent + s_received);
    return 0;
}
