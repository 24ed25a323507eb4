/*
 * transport-s3: what the two object-store transports share, the upload
 * (transport-s3.c: a bucket as the destination) and the download
 * (transport-s3-get.c: a bucket as the source, a local directory as the
 * destination). Both run their batches through helpers of ours
 * (scow-sync __s3-put, __s3-get) that print what rsync prints
 * (rsync-speak.h), so the pool, the verdict and progress treat them as
 * rsync jobs.
 */
#ifndef SCOW_SYNC_TRANSPORT_S3_H
#define SCOW_SYNC_TRANSPORT_S3_H

#include <stdbool.h>

#include "s3-client.h"
#include "s3-credentials.h"
#include "s3-target.h"
#include "transport.h"
#include "util.h"

struct batch_end;

/* A supervisor's side of the store (struct sup's s3). */
struct s3_side {
	struct s3_target target;
	struct s3_credentials creds;
	struct s3_client *cl;
	char *filters_file;          /* the transfer's filters, serialised, for the helpers */
	char *excludes_file;         /* the parts stopped on request, NUL-separated */
	struct strvec env;           /* the helpers' environment (S3_PUT_*, S3_GET_*) */
	int lock_fd;                 /* the destination's lock (flock), or -1 */
};

/*
 * Where the bucket is (the transfer's recorded URL, so that a resume goes
 * where the start went), the credential, and a client whose requests a
 * stop ends.
 */
bool s3_side_connect(struct sup *s);
bool s3_side_connected(struct sup *s);
/* Start the helper verb ("__s3-put", "__s3-get") on w's batch, with s->s3->env. */
int s3_side_start_helper(struct sup *s, struct worker *w, enum job_kind kind, const char *verb);
/* Large files go in parts of the helpers' own: never the engine's pieces. */
int s3_side_start_piece(struct sup *s, struct worker *w);
/* How a helper's batch ended; exit SPEAK_EXIT_FATAL ends the transfer with its reason. */
void s3_side_batch_end(struct sup *s, const struct worker *w, struct batch_end *e);
int s3_side_after_units(struct sup *s);
void s3_side_close(struct sup *s);

#endif
