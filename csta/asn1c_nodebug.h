//  asn1c_nodebug: force-included into every file that includes asn1c's headers.  asn1c
//  0.9.28 defines ASN_DEBUG as an empty *function* when debugging is off, so its arguments
//  (tag names built with snprintf, ...) are still evaluated on every encode and decode —
//  30-60 % of codec CPU in pbxsim's profile.  Defined first, as a no-op macro, asn1c keeps it.
#ifndef CSTA_ASN1C_NODEBUG_H
#define CSTA_ASN1C_NODEBUG_H
#define ASN_DEBUG(...) ((void) 0)
#endif
