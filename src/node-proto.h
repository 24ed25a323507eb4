/*
 * node-proto: the words between a supervisor and its workers on other
 * nodes (a Slurm job step, sup-nodes.c and cmd-node-worker.c).
 *
 * Both ways a message is one line of words separated by single spaces.
 * A word keeps the bytes from '!' to '~' but '%'; any other byte is %XX
 * (two upper-case hex digits), and the empty word is "%%". So any name,
 * a newline in it included, travels as one word, and a line never holds
 * a byte srun or a terminal would take for something else.
 *
 * The supervisor writes to every worker at once (srun gives its stdin to
 * each task); a message begins with the task it is for:
 *   TASK key 0 PATH             link "key" in the worker's directory to PATH,
 *                               the user's key (ssh's command line, which any
 *                               user of the node reads, names the link)
 *   TASK master 0 ARG...        run ARG..., the node's shared ssh connection
 *                               (its socket "cm" in the worker's directory),
 *                               until the worker ends
 *   TASK file SLOT NAME DATA    write DATA to NAME in the worker's directory
 *   TASK run SLOT ARG...        run ARG... as slot SLOT's job
 *   TASK pipe SLOT INPUT N ARG...   two processes as one job: the first N
 *                               ARGs read file INPUT of the worker's
 *                               directory and write into the rest (a
 *                               piece of a large file: reader | ssh)
 *   TASK stop SLOT SIG          send SIG to that job (SIGKILL: its group)
 * A worker answers on its stdout, which srun labels with its task:
 *   hello DIR HOST JOB STEP     up, its directory for files, its node
 *   out SLOT DATA / err SLOT DATA   what the job wrote, a chunk at a time
 *   feed SLOT DATA              ... what a pipe's first process wrote on stderr
 *   exit SLOT STATUS [STATUS2]  the job ended, with this wait status (and
 *                               the first process's, of a pipe)
 *   alive                       nothing else to say (every few seconds)
 * A worker's line stays under srun's 1024-byte message, which srun would
 * cut into lines of its own.
 */
#ifndef SCOW_SYNC_NODE_PROTO_H
#define SCOW_SYNC_NODE_PROTO_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

/* A job's output goes in chunks of at most this many bytes: escaped, under 1000. */
#define NODE_CHUNK 300
/* A worker says it is alive this often (seconds) ... */
#define NODE_ALIVE_EVERY 5
/* ... and a node silent this long (seconds) is taken as lost. */
#define NODE_SILENT_MAX 30

/* Append buf[0..n) as one word. */
void node_word(struct strbuf *out, const char *buf, size_t n);
/* ... and a C string, with the space before it. */
void node_add_word(struct strbuf *out, const char *s);

/*
 * Split line (NUL-terminated, no newline) into its words, in place:
 * words[i] points into line, decoded, and len[i] says how long (a word
 * may hold NUL). At most max words. The count, or -1 when a word is not
 * well formed (a bad escape, or an empty word between two spaces).
 */
int node_split(char *line, char **words, size_t *len, int max);

#endif
