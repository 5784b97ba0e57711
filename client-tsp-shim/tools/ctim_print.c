//  ctim_print: what the ctim tool prints -- events and results, as text or as JSON lines.
#include "ctim_print.h"

#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "ctim_cmd.h"

const char *ctim_print_direction_str(ctim_direction_t direction)
{
    switch (direction) {
    case CTIM_DIR_INCOMING:
        return "incoming";
    case CTIM_DIR_OUTGOING:
        return "outgoing";
    case CTIM_DIR_INTERNAL:
        return "internal";
    default:
        return "unknown";
    }
}

//  --- Strings --------------------------------------------------------------------------------

//  Length of the well-formed UTF-8 sequence at p (RFC 3629 table 3.7: no overlongs, no
//  surrogates, nothing above U+10FFFF), or 0.
static size_t s_utf8_len(const unsigned char *p)
{
    unsigned char c = p[0];
    if (c < 0x80)
        return 1;
    size_t n;
    unsigned char lo = 0x80, hi = 0xBF;     //  range of the second byte
    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else
        return 0;
    if (p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xBF)
            return 0;
    return n;
}

void ctim_print_json_string(FILE *out, const char *s)
{
    fputc('"', out);
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    while (*p) {
        unsigned char c = *p;
        switch (c) {
        case '"':
            fputs("\\\"", out);
            break;
        case '\\':
            fputs("\\\\", out);
            break;
        case '\b':
            fputs("\\b", out);
            break;
        case '\f':
            fputs("\\f", out);
            break;
        case '\n':
            fputs("\\n", out);
            break;
        case '\r':
            fputs("\\r", out);
            break;
        case '\t':
            fputs("\\t", out);
            break;
        default:
            if (c < 0x20 || c == 0x7f) {
                fprintf(out, "\\u%04x", c);
                break;
            }
            size_t n = s_utf8_len(p);
            if (n == 0) {
                fputs("\\ufffd", out);      //  not UTF-8: a JSON reader would choke
                break;
            }
            fwrite(p, 1, n, out);
            p += n;
            continue;
        }
        p++;
    }
    fputc('"', out);
}

//  s for a text line: control characters become '?' so that one event stays one line.
static void s_text(FILE *out, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++)
        fputc(*p < 0x20 || *p == 0x7f ? '?' : *p, out);
}

//  ,"key":"value"
static void s_jstr(FILE *out, const char *key, const char *value)
{
    fprintf(out, ",\"%s\":", key);
    ctim_print_json_string(out, value);
}

static void s_jbool(FILE *out, const char *key, bool value)
{
    fprintf(out, ",\"%s\":%s", key, value ? "true" : "false");
}

static void s_jtime(FILE *out, const char *key, uint64_t unix_ms)
{
    time_t sec = (time_t)(unix_ms / 1000);
    struct tm tm;
    char buf[32] = "";
    if (gmtime_r(&sec, &tm))
        strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    fprintf(out, ",\"%s\":\"%s.%03uZ\"", key, buf, (unsigned)(unix_ms % 1000));
}

//  Local time with milliseconds; sep between date and time (' ' or 'T').
static void s_ttime(FILE *out, uint64_t unix_ms, char sep)
{
    time_t sec = (time_t)(unix_ms / 1000);
    struct tm tm;
    char date[16] = "", clock[16] = "";
    if (localtime_r(&sec, &tm)) {
        strftime(date, sizeof date, "%Y-%m-%d", &tm);
        strftime(clock, sizeof clock, "%H:%M:%S", &tm);
    }
    fprintf(out, "%s%c%s.%03u", date, sep, clock, (unsigned)(unix_ms % 1000));
}

//  The start of an event: {"type":"x","time":"..."  or  "2026-11-22 05:37:59.123 ".
static void s_event_start(FILE *out, bool json, uint64_t unix_ms, const char *type)
{
    if (json) {
        fprintf(out, "{\"type\":\"%s\"", type);
        s_jtime(out, "time", unix_ms);
    } else {
        s_ttime(out, unix_ms, ' ');
        fputc(' ', out);
    }
}

static void s_end(FILE *out, bool json)
{
    fputs(json ? "}\n" : "\n", out);
}

//  " NUMBER \"NAME\"" of a party in text; "?" for an unknown number.
static void s_party(FILE *out, const char *number, const char *name)
{
    fputc(' ', out);
    if (number && *number)
        s_text(out, number);
    else
        fputc('?', out);
    if (name && *name) {
        fputc(' ', out);
        ctim_print_json_string(out, name);
    }
}

//  --- Events ---------------------------------------------------------------------------------

void ctim_print_call(FILE *out, bool json, uint64_t unix_ms, const ctim_call_event_t *ev)
{
    s_event_start(out, json, unix_ms, "call");
    if (json) {
        s_jstr(out, "line", ev->line);
        s_jstr(out, "call_id", ev->call_id);
        s_jstr(out, "state", ctim_call_state_str(ev->state));
        s_jstr(out, "direction", ctim_print_direction_str(ev->direction));
        s_jstr(out, "caller_number", ev->caller_number);
        s_jstr(out, "caller_name", ev->caller_name);
        s_jstr(out, "called_number", ev->called_number);
        s_jstr(out, "called_name", ev->called_name);
        s_jstr(out, "cause", ev->cause);
        s_jbool(out, "snapshot", ev->snapshot);
    } else {
        s_text(out, ev->line);
        fprintf(out, " %s call=", ctim_call_state_str(ev->state));
        s_text(out, ev->call_id);
        if (ev->direction != CTIM_DIR_UNKNOWN)
            fprintf(out, " %s", ctim_print_direction_str(ev->direction));
        fputs(" from", out);
        s_party(out, ev->caller_number, ev->caller_name);
        fputs(" to", out);
        s_party(out, ev->called_number, ev->called_name);
        if (ev->cause && *ev->cause) {
            fputs(" cause=", out);
            s_text(out, ev->cause);
        }
        if (ev->snapshot)
            fputs(" (snapshot)", out);
    }
    s_end(out, json);
}

void ctim_print_service(FILE *out, bool json, uint64_t unix_ms, const char *line,
                        bool in_service)
{
    s_event_start(out, json, unix_ms, "line");
    if (json) {
        s_jstr(out, "line", line);
        s_jbool(out, "in_service", in_service);
    } else {
        s_text(out, line);
        fputs(in_service ? " in-service" : " out-of-service", out);
    }
    s_end(out, json);
}

void ctim_print_link(FILE *out, bool json, uint64_t unix_ms, ctim_link_t link,
                     const char *server, const char *text)
{
    s_event_start(out, json, unix_ms, "link");
    if (json) {
        s_jstr(out, "link", ctim_link_str(link));
        s_jstr(out, "server", server);
        s_jstr(out, "text", text);
    } else {
        fprintf(out, "link %s ", ctim_link_str(link));
        s_text(out, server);
        if (text && *text) {
            fputs(" (", out);
            s_text(out, text);
            fputc(')', out);
        }
    }
    s_end(out, json);
}

void ctim_print_forward(FILE *out, bool json, uint64_t unix_ms, const char *line,
                        const ctim_forward_t *forward)
{
    s_event_start(out, json, unix_ms, "forward");
    if (json) {
        s_jstr(out, "line", line);
        s_jstr(out, "mode", ctim_forward_mode_str(forward->mode));
        s_jbool(out, "on", forward->on);
        s_jstr(out, "destination", forward->destination);
    } else {
        s_text(out, line);
        fprintf(out, " forward %s ", ctim_forward_mode_str(forward->mode));
        if (forward->on) {
            fputs("on -> ", out);
            s_text(out, forward->destination && *forward->destination ? forward->destination
                                                                      : "?");
        } else
            fputs("off", out);
    }
    s_end(out, json);
}

void ctim_print_dnd(FILE *out, bool json, uint64_t unix_ms, const char *line, bool on)
{
    s_event_start(out, json, unix_ms, "dnd");
    if (json) {
        s_jstr(out, "line", line);
        s_jbool(out, "on", on);
    } else {
        s_text(out, line);
        fputs(on ? " dnd on" : " dnd off", out);
    }
    s_end(out, json);
}

void ctim_print_events_lost(FILE *out, bool json, uint64_t unix_ms, uint64_t count)
{
    s_event_start(out, json, unix_ms, "events_lost");
    if (json)
        fprintf(out, ",\"count\":%" PRIu64, count);
    else
        fprintf(out, "events-lost %" PRIu64 " (the calls now follow as snapshots)", count);
    s_end(out, json);
}

void ctim_print_cdr(FILE *out, bool json, uint64_t unix_ms, const ctim_cdr_t *cdr)
{
    s_event_start(out, json, unix_ms, "cdr");
    if (json) {
        s_jstr(out, "call_id", cdr->call_id);
        s_jstr(out, "caller_number", cdr->caller_number);
        s_jstr(out, "called_number", cdr->called_number);
        s_jstr(out, "direction", ctim_print_direction_str(cdr->direction));
        fprintf(out, ",\"start_ms\":%" PRIu64 ",\"connect_ms\":%" PRIu64 ",\"end_ms\":%" PRIu64
                     ",\"charge_units\":%" PRIu32,
                cdr->start_ms, cdr->connect_ms, cdr->end_ms, cdr->charge_units);
        s_jstr(out, "account", cdr->account);
    } else {
        fputs("cdr call=", out);
        s_text(out, cdr->call_id);
        if (cdr->direction != CTIM_DIR_UNKNOWN)
            fprintf(out, " %s", ctim_print_direction_str(cdr->direction));
        fputs(" from", out);
        s_party(out, cdr->caller_number, NULL);
        fputs(" to", out);
        s_party(out, cdr->called_number, NULL);
        fputs(" start=", out);
        s_ttime(out, cdr->start_ms, 'T');
        if (cdr->connect_ms && cdr->end_ms >= cdr->connect_ms) {
            uint64_t talk = cdr->end_ms - cdr->connect_ms;
            fprintf(out, " talk=%" PRIu64 ".%03us", talk / 1000, (unsigned)(talk % 1000));
        } else
            fputs(" unanswered", out);
        fprintf(out, " units=%" PRIu32, cdr->charge_units);
        if (cdr->account && *cdr->account) {
            fputs(" account=", out);
            s_text(out, cdr->account);
        }
    }
    s_end(out, json);
}

//  --- Results --------------------------------------------------------------------------------

//  {"type":"result","command":"x","line":"101","result":"ok","exit":0  (line left out if NULL)
static void s_result_start(FILE *out, const char *command, const char *line,
                           ctim_result_t result)
{
    fputs("{\"type\":\"result\"", out);
    s_jstr(out, "command", command);
    if (line)
        s_jstr(out, "line", line);
    s_jstr(out, "result", ctim_result_str(result));
    fprintf(out, ",\"exit\":%d", (int)ctim_cmd_exit_for(result));
}

void ctim_print_result(FILE *out, bool json, const char *command, const char *line,
                       ctim_result_t result, const char *text, const char *call_id)
{
    if (!json) {
        if (result == CTIM_RESULT_OK && call_id && *call_id) {
            s_text(out, call_id);
            fputc('\n', out);
        }
        return;
    }
    s_result_start(out, command, line, result);
    s_jstr(out, "text", text);
    s_jstr(out, "call_id", call_id);
    fputs("}\n", out);
}

void ctim_print_failure(FILE *out, const char *command, const char *line, ctim_result_t result,
                        const char *text)
{
    fprintf(out, "ctim: %s", command);
    if (line) {
        fputc(' ', out);
        s_text(out, line);
    }
    fprintf(out, ": %s", ctim_result_str(result));
    if (text && *text) {
        fputs(": ", out);
        s_text(out, text);
    }
    fputc('\n', out);
}

//  Width of column strings (at least the header's).
static int s_width(int w, const char *s)
{
    int n = s ? (int)strlen(s) : 0;
    return n > w ? n : w;
}

void ctim_print_lines(FILE *out, bool json, const ctim_line_info_t *lines, int count)
{
    if (json) {
        s_result_start(out, "lines", NULL, CTIM_RESULT_OK);
        fputs(",\"lines\":[", out);
        for (int i = 0; i < count; i++) {
            fputs(i ? ",{" : "{", out);
            fputs("\"line\":", out);
            ctim_print_json_string(out, lines[i].line);
            s_jstr(out, "name", lines[i].name);
            s_jbool(out, "open", lines[i].open);
            s_jbool(out, "in_service", lines[i].in_service);
            s_jstr(out, "failure_number", lines[i].failure_number);
            fputc('}', out);
        }
        fputs("]}\n", out);
        return;
    }
    int wl = 4, wn = 4;     //  "LINE", "NAME"
    for (int i = 0; i < count; i++) {
        wl = s_width(wl, lines[i].line);
        wn = s_width(wn, lines[i].name);
    }
    //  Open and the failure number are the asking session's (ctim.h), and the tool's session
    //  opens no line for this command: in a table for people they would read "nobody has
    //  it open".  JSON keeps them, as the struct has them.
    fprintf(out, "%-*s  %-*s  %s\n", wl, "LINE", wn, "NAME", "IN-SERVICE");
    for (int i = 0; i < count; i++) {
        const ctim_line_info_t *l = &lines[i];
        s_text(out, l->line);
        fprintf(out, "%*s  ", wl - (int)strlen(l->line ? l->line : ""), "");
        s_text(out, l->name);
        fprintf(out, "%*s  %s\n", wn - (int)strlen(l->name ? l->name : ""), "",
                l->in_service ? "yes" : "no");
    }
}

void ctim_print_server(FILE *out, bool json, const char *server, bool up, const char *user)
{
    if (json) {
        fputs("{\"type\":\"server\"", out);
        s_jstr(out, "server", server);
        s_jbool(out, "up", up);
        s_jstr(out, "user", user);
        fputs("}\n", out);
        return;
    }
    fputs("server ", out);
    s_text(out, server && *server ? server : "-");
    fputs(up ? " up user " : " down user ", out);
    s_text(out, user);
    fputc('\n', out);
}

void ctim_print_address(FILE *out, bool json, const ctim_address_status_t *a)
{
    if (json) {
        fputs("{\"type\":\"address\"", out);
        s_jstr(out, "line", a->line);
        s_jbool(out, "in_service", a->in_service);
        s_jbool(out, "do_not_disturb", a->do_not_disturb);
        s_jbool(out, "message_waiting", a->message_waiting);
        fputs(",\"forwarding\":[", out);
        for (int i = 0; i < a->forwarding_count; i++) {
            const ctim_forward_t *f = &a->forwarding[i];
            fputs(i ? ",{\"mode\":" : "{\"mode\":", out);
            ctim_print_json_string(out, ctim_forward_mode_str(f->mode));
            s_jbool(out, "on", f->on);
            s_jstr(out, "destination", f->destination);
            fputc('}', out);
        }
        fputs("]}\n", out);
        return;
    }
    s_text(out, a->line);
    fprintf(out, " %s dnd=%s message-waiting=%s forwarding=",
            a->in_service ? "in-service" : "out-of-service", a->do_not_disturb ? "on" : "off",
            a->message_waiting ? "on" : "off");
    int shown = 0;
    for (int i = 0; i < a->forwarding_count; i++) {
        const ctim_forward_t *f = &a->forwarding[i];
        if (!f->on)
            continue;
        fprintf(out, "%s%s:", shown++ ? "," : "", ctim_forward_mode_str(f->mode));
        s_text(out, f->destination && *f->destination ? f->destination : "?");
    }
    if (!shown)
        fputs("none", out);
    fputc('\n', out);
}
