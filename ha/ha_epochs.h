//  ha_epochs: the highest epoch a node has seen or issued per PBX, kept on disk so that a
//  restarted node never claims a link with an epoch it (or anyone it heard) used before.
//
//  One file per PBX in the state folder, `epoch-PBX`, holding the epoch as decimal text
//  and a newline.  A store writes `epoch-PBX.tmp`, fsyncs it, renames it over the file
//  and fsyncs the folder: after a crash the file holds the old or the new value, never a
//  torn one.  These are small blocking writes (a few per failover, none per message);
//  they run on the loop and are the one disk wait it has (ha/README.md).
#ifndef HA_EPOCHS_H
#define HA_EPOCHS_H

#include <stdint.h>

//  Make the state folder (one level, mode 0750) unless it exists.  Returns 0 or -errno.
int ha_epochs_prepare(const char *dir);
//  The epoch stored for pbx: 0 and *epoch = 0 when there is no file yet; -EBADMSG when
//  the file does not hold a number (the node must not guess: it refuses to start);
//  another -errno when it cannot be read.
int ha_epochs_load(const char *dir, const char *pbx, uint64_t *epoch);
//  Store epoch for pbx durably (see above).  Returns 0 or -errno (the file keeps its old
//  value).
int ha_epochs_store(const char *dir, const char *pbx, uint64_t epoch);

#endif
