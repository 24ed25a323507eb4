/*
 * keycheck: will ssh be able to use this key, unattended?
 *
 * A transfer must refuse, before start detaches, a key that would fail
 * every connection later: one that needs a passphrase (nobody is there to
 * type it) or that OpenSSH cannot read (corrupt, unsupported, open to
 * others). ssh-keygen -y loads the key exactly as ssh will, so it decides.
 *
 * Its verdict holds while neither the key file nor ssh-keygen changes:
 * the keys it accepted are noted in the state directory (keys-checked)
 * and not asked again, which saves a process (4 ms) per transfer.
 */
#ifndef SCOW_SYNC_KEYCHECK_H
#define SCOW_SYNC_KEYCHECK_H

#include <stddef.h>

/*
 * 0 when key can be used (or no ssh-keygen is there to tell); -1 with a
 * one-line reason in err ("cannot use key 'K': ...").
 */
int keycheck_loads(const char *key, const char *state_dir, char *err, size_t errlen);

#endif
