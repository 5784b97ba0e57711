//  node_numfmt: telephone number formatting as estos ProCall/ECSTA does it — three ordered
//  lists of regex rules (incoming, outgoing, dialling) and a location (country code, area
//  code, outside-line prefix, international and national prefixes) that turns numbers the
//  PBX reports into canonical ones (+49301234567) and canonical numbers into what the PBX
//  dials.
//
//  The algorithm, exactly:
//  1. Clean: drop the separators ' ', '\t', '-', '/', '(', ')', '.'.  A number that is then
//     empty, or holds anything but digits, '*', '#' and one leading '+', is not a
//     telephone number (a name, "anonymous", a SIP URI) and is returned exactly as
//     given; no rule sees it.
//  2. Rules: the direction's rules are tried in order; the first whose `match` (POSIX ERE)
//     is found in the number rewrites it: the text before the match, `replace` with \1..\9
//     expanded to the match's groups (an unmatched group is empty; \\ is a backslash), the
//     text after the match.  Anchor the pattern (^...$) to rewrite the whole number.
//  3. Location (only when country_code is set; else step 2's result is final):
//     incoming (numbers the PBX reports for incoming calls: callers):
//        "+..."                       unchanged
//        international_prefix REST    "+" REST           ("0044207..."  -> "+44207...")
//        national_prefix REST         "+" CC REST        ("0301234567"  -> "+49301234567")
//        anything else                unchanged          ("101": an extension)
//     outgoing (numbers the PBX reports for outgoing calls: what an extension dialled,
//        usually with the outside-line prefix):
//        local_prefix REST            REST as incoming, where a REST without a prefix is a
//                                     subscriber in our own area: "+" CC AREA REST
//                                     ("01234567" -> "+49301234567" with local_prefix 0)
//        anything else                as incoming
//     dialling (numbers an application dials; applied only when no dialling rule matched,
//        since a dialling rule says exactly what to dial):
//        not starting with "+"        unchanged (an extension, or already dialable)
//        "+" CC NATIONAL              local_prefix national_prefix NATIONAL
//        "+" OTHER                    local_prefix international_prefix OTHER
//     The area code is dialled also within our own area: that is valid in open numbering
//     plans (Germany: "0 030 1234567" from Berlin) and required in closed ones (France,
//     Switzerland, Italy), whereas dropping it is wrong in the latter.  Sites that want
//     local dialling add a dialling rule (match "^\+4930([0-9]+)$", replace "0\1").
//     So with country 49, area 30, local prefix 0: "+49301234567" dials "00301234567",
//     "+442071234567" dials "000442071234567"; with no local prefix (a PBX that seizes
//     the outside line itself): "0301234567" and "00442071234567".
#ifndef NODE_NUMFMT_H
#define NODE_NUMFMT_H

#include <stddef.h>

#include "node_config.h"

typedef enum {
    NODE_NUMFMT_INCOMING,
    NODE_NUMFMT_OUTGOING,
    NODE_NUMFMT_DIALLING,
} node_numfmt_dir_t;

const char *node_numfmt_dir_str(node_numfmt_dir_t dir);
//  "incoming" / "outgoing" / "dialling" (also "dialing") -> dir; -EINVAL otherwise.
int node_numfmt_dir_parse(const char *name, node_numfmt_dir_t *dir);

typedef struct node_numfmt node_numfmt_t;

//  Compile the rules of cfg (copied).  Returns NULL with a reason in err when a pattern
//  does not compile (the config loader has checked them already).
node_numfmt_t *node_numfmt_new(const node_numbers_cfg_t *cfg, char *err, size_t err_cap);
void node_numfmt_destroy(node_numfmt_t **self_p);

//  Format number for dir into out.  Returns 0, -EINVAL for a NULL number, or -ENOSPC when
//  the result does not fit in out (out is then "").
int node_numfmt_format(const node_numfmt_t *self, node_numfmt_dir_t dir, const char *number,
                       char *out, size_t out_cap);

#endif
