//  csta: the CSTA Phase III protocol library of ctim — the one header others include.
//  See csta/README.md for the classes, framing flavours and limits.
#ifndef CSTA_H
#define CSTA_H

#include "csta_apdu.h"
#include "csta_frame.h"
#include "csta_peek.h"

#endif
