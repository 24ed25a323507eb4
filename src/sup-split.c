/* sup-split: a large file moved in pieces, in parallel, then put under its name. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "finish.h"
#include "log.h"
#include "rsync-parse.h"
#include "rsync.h"
#include "spawn.h"
#include "store.h"
#include "sup-internal.h"
#include "util.h"

#define PIECE_ALIGN (1ULL << 20)

static void piece_range(const struct split *sp, int k, uint64_t *off, uint64_t *len);

/*
 * The header of a remote piece command (rsync.h) for a unit's file: its
 * partial directory on the far side and its name. file, when not NULL,
 * gets the path of the transfer's pieces' file.
 */
static void
piece_paths(struct sup *s, const char *unit_path, struct strbuf *header, struct strbuf *file)
{
	const char *slash = strrchr(unit_path, '/');
	const char *name = slash ? slash + 1 : unit_path;
	struct strbuf dir = STRBUF_INIT;

	strbuf_addstr(&dir, s->t.destination);
	if (slash) {
		strbuf_addch(&dir, '/');
		strbuf_add(&dir, unit_path, (size_t)(slash - unit_path));
	}
	strbuf_addstr(&dir, "/" PARTIAL_DIR);
	if (header)
		piece_header(dir.buf, name, header);
	if (file) {
		strbuf_addf(file, "%s/%s", dir.buf, name);
		piece_suffix(s->t.id, file);
	}
	strbuf_release(&dir);
}

/*
 * The leftover record of the pieces' file of a unit's file: the unit's
 * path with the pieces' suffix, so that the cleanup (cleanup.h) takes
 * the pieces' file for rsync's partial file of that name.
 */
static void
pieces_row(const struct sup *s, const char *unit_path, struct strbuf *out)
{
	strbuf_addstr(out, unit_path);
	piece_suffix(s->t.id, out);
}

/* Is row the record of the pieces' file of a path at or below prefix? */
bool
pieces_row_within(const char *row, int64_t transfer_id, const char *prefix)
{
	struct strbuf sfx = STRBUF_INIT;
	size_t len = strlen(row);
	char *unit;
	bool in;

	piece_suffix(transfer_id, &sfx);
	in = len > sfx.len && strcmp(row + len - sfx.len, sfx.buf) == 0;
	if (in) {
		unit = xstrndup(row, len - sfx.len);
		in = path_is_within(unit, prefix);
		free(unit);
	}
	strbuf_release(&sfx);
	return in;
}

/*
 * Run a remote shell command through the shared connection, input on its
 * stdin, as remote_capture does: never for ever. A far side whose file
 * system hangs under the pieces' check or rename is given io_timeout
 * seconds from the command's last word (the check says one for every
 * 64 MiB it reads), as rsync's --timeout gives an rsync; a stop signal
 * ends it at once. SYNC_ERR_TIMEOUT when it was ended.
 */
static int
split_run_remote_input(struct sup *s, const char *cmd, const struct strbuf *input, int *status)
{
	struct spawn_limits lim = {
		.idle_ms = (int)s->cfg->io_timeout * 1000, .stop = &got_stop_signal,
		.die_with_parent = true,
	};
	struct strvec argv = STRVEC_INIT;
	int rc;

	*status = -1;
	ssh_shell_argv(&s->target, cmd, &argv);
	rc = spawn_capture_limited((const char *const *)argv.v, input, status, NULL, NULL, &lim);
	if (rc == SYNC_ERR_TIMEOUT)
		s->master_stuck = true;   /* as in remote_capture */
	strvec_clear(&argv);
	return rc;
}

/*
 * Give the pieces' file of a unit's file, if there is one, back to rsync
 * as its partial file: the basis of the rsync that checks it, as rsync's
 * own partial data would be. True when no pieces' file is left.
 */
static bool
split_give_back_pieces(struct sup *s, const struct unit *u)
{
	struct strbuf header = STRBUF_INIT, cmd = STRBUF_INIT, row = STRBUF_INIT;
	int status;
	bool ok;

	piece_paths(s, u->path, &header, NULL);
	piece_give_back_command(s->pieces_suffix.buf, &cmd);
	ok = split_run_remote_input(s, cmd.buf, &header, &status) == SYNC_OK && WIFEXITED(status) &&
	     WEXITSTATUS(status) == 0;
	if (ok) {
		pieces_row(s, u->path, &row);
		store_leftover_remove(s->st, s->t.id, row.buf);
	}
	strbuf_release(&header);
	strbuf_release(&cmd);
	strbuf_release(&row);
	return ok;
}

/*
 * A resumed transfer: pieces of u's file cut off before (a supervisor
 * killed, a stop) are in the transfer's pieces' file; the rsync that
 * sends u goes on from them once they are rsync's partial file.
 */
void
reclaim_pieces(struct sup *s, const struct unit *u)
{
	struct strbuf row = STRBUF_INIT;
	bool left = false;

	if (!s->leftovers || u->kind != UNIT_FILE || u->size.bytes < PARTIAL_MIN_BYTES)
		return;
	pieces_row(s, u->path, &row);
	if (store_leftover_exists(s->st, s->t.id, row.buf, &left) == SYNC_OK && left)
		split_give_back_pieces(s, u);
	strbuf_release(&row);
}

/*
 * Does the far side have u's file already with its size and time (what
 * rsync's quick check looks at)? Then rsync skips it, and pieces would
 * send it all again.
 */
bool
remote_up_to_date(struct sup *s, const struct unit *u)
{
	struct strvec words = STRVEC_INIT, argv = STRVEC_INIT;
	struct strbuf local = STRBUF_INIT, out = STRBUF_INIT, want = STRBUF_INIT;
	struct strbuf script = STRBUF_INIT;
	struct stat sb;
	int status = -1;
	bool same = false;

	/*
	 * Nothing of the source was there: no need to ask. (A unit the dry
	 * run found different is asked all the same: its contents may be the
	 * same, and only its mode differ.)
	 */
	s->far_absent = s->fresh;
	if (s->fresh)
		return false;
	strbuf_addf(&local, "%s/%s", s->source_root, u->path);
	if (lstat(local.buf, &sb) < 0)
		goto out;
	strbuf_addf(&want, "%lld %lld", (long long)sb.st_size, (long long)sb.st_mtime);
	strvec_push(&words, "stat");
	strvec_push(&words, "-c");
	strvec_push(&words, "%s %Y");
	strvec_push(&words, "--");
	strvec_pushf(&words, "%s/%s", s->t.destination, u->path);
	ssh_stdin_argv(&s->target, (const char *const *)words.v, &argv, &script);
	if (remote_capture(s, (const char *const *)argv.v, &script, &status, &out, NULL) < 0)
		goto out;
	strbuf_trim_eol(&out);
	same = WIFEXITED(status) && WEXITSTATUS(status) == 0 && strcmp(out.buf, want.buf) == 0;
	/* stat's 1: no such file (or none it may see); the file is then new there. */
	s->far_absent = WIFEXITED(status) && WEXITSTATUS(status) == 1;
out:
	strvec_clear(&words);
	strvec_clear(&argv);
	strbuf_release(&local);
	strbuf_release(&out);
	strbuf_release(&want);
	strbuf_release(&script);
	return same;
}

/*
 * Should u move in pieces? A large regular file never sent before (one
 * that was has partial data on the far side for rsync to go on from),
 * when no other file is in pieces, over a link where one stream is
 * capped, with a name every remote shell can take in quotes.
 */
bool
split_candidate(struct sup *s, const struct unit *u)
{
	bool left = true;
	const char *slash = strrchr(u->path, '/');

	/*
	 * The pieces' file is named NAME plus a suffix within the 255 bytes
	 * of a name; the paths travel through a pipe that holds 64 KiB.
	 */
	if (!s->split_ok || s->split.active || s->nworkers < 2 || u->kind != UNIT_FILE ||
	    s->cfg->self_path == NULL ||
	    u->size.bytes < s->split_min || u->attempts > 0 ||
	    strchr(u->path, '\n') || strchr(s->t.destination, '\n') ||
	    strlen(slash ? slash + 1 : u->path) + s->pieces_suffix.len > 255 ||
	    strlen(s->source_root) + strlen(s->t.destination) + 2 * strlen(u->path) > 16384 ||
	    !nodes_split_worth(s, u))
		return false;
	if (store_leftover_exists(s->st, s->t.id, u->path, &left) < 0 || left)
		return false;
	return !remote_up_to_date(s, u);
}

/* Start moving u in pieces (it is ours now). */
void
begin_split(struct sup *s, struct unit *u)
{
	struct split *sp = &s->split;
	/* Pieces of a quarter of the size that makes a file large, at least. */
	uint64_t n = u->size.bytes / (s->split_min / 4 ? s->split_min / 4 : 1);
	struct strbuf esc = STRBUF_INIT, row = STRBUF_INIT;
	int k;

	free(sp->sums);
	memset(sp, 0, sizeof *sp);
	sp->active = true;
	/* split_candidate asked the far side for this file just now. */
	sp->created = s->far_absent;
	sp->unit = *u;
	memset(u, 0, sizeof *u);
	sp->size = sp->unit.size.bytes;
	sp->npieces = n > (uint64_t)s->nworkers ? s->nworkers : (int)n;
	/* Over several nodes: a piece a node, each over its own link. */
	if (nodes_pieces(s) > 0 && sp->npieces > nodes_pieces(s))
		sp->npieces = nodes_pieces(s);
	if (sp->npieces < 2)
		sp->npieces = 2;
	sp->sums = xcalloc((size_t)sp->npieces, sizeof *sp->sums);
	for (k = 0; k < sp->npieces; k++)
		piece_range(sp, k, &sp->sums[k].offset, &sp->sums[k].len);
	sp->started = now_monotonic();
	{
		struct strbuf local = STRBUF_INIT;

		strbuf_addf(&local, "%s/%s", s->source_root, sp->unit.path);
		sp->source_st_ok = lstat(local.buf, &sp->source_st) == 0 &&
				   S_ISREG(sp->source_st.st_mode);
		strbuf_release(&local);
	}
	s->changed = true;
	/* Its partial data and pieces' file are ours to remove if it is stopped for good. */
	s->leftovers = true;
	pieces_row(s, sp->unit.path, &row);
	if (store_leftover_add(s->st, s->t.id, sp->unit.path) < 0 ||
	    store_leftover_add(s->st, s->t.id, row.buf) < 0)
		log_warn("cannot record a partial file: %s", store_errmsg(s->st));
	strbuf_release(&row);
	store_unit_set_state(s->st, sp->unit.id, UNIT_RUNNING, sp->unit.attempts, NULL);
	escape_untrusted(&esc, sp->unit.path, strlen(sp->unit.path));
	log_info("'%s': %llu bytes in %d pieces", esc.buf, (unsigned long long)sp->size,
		 sp->npieces);
	strbuf_release(&esc);
}

/* Is there a piece to start? */
bool
split_piece_ready(struct sup *s)
{
	return s->split.active && !s->split.excluded && !s->aborting && !got_stop_signal &&
	       s->split.next < s->split.npieces;
}

/* The byte range of piece k: cut at whole MiB. */
static void
piece_range(const struct split *sp, int k, uint64_t *off, uint64_t *len)
{
	uint64_t a = sp->size / (uint64_t)sp->npieces * (uint64_t)k / PIECE_ALIGN * PIECE_ALIGN;
	uint64_t b = k + 1 == sp->npieces ? sp->size :
		     sp->size / (uint64_t)sp->npieces * (uint64_t)(k + 1) / PIECE_ALIGN *
			     PIECE_ALIGN;

	*off = a;
	*len = b - a;
}

/* Start the next piece of the split on free worker w. */
int
start_piece(struct sup *s, struct worker *w)
{
	struct split *sp = &s->split;
	struct strbuf header = STRBUF_INIT, cmd = STRBUF_INIT;
	struct strbuf src = STRBUF_INIT, input = STRBUF_INIT;
	struct strvec ssh = STRVEC_INIT, dd = STRVEC_INIT;
	const char *env[] = { "LC_ALL=C", NULL };
	struct spawn writer, reader;
	uint64_t off, len;
	int p[2], in[2] = { -1, -1 }, rc;

	piece_range(sp, sp->next, &off, &len);
	piece_paths(s, sp->unit.path, &header, NULL);
	piece_writer_command(s->pieces_suffix.buf, off, sp->size,
			     (s->cfg->preserve & RSYNC_SPARSE) != 0, &cmd);
	ssh_shell_argv(&s->target, cmd.buf, &ssh);
	strbuf_addstr(&src, s->source_root);
	if (src.len == 0 || src.buf[src.len - 1] != '/')
		strbuf_addch(&src, '/');
	strbuf_addstr(&src, sp->unit.path);
	/* The transfer's bucket here; a share of the rate on a node, which cannot reach it. */
	if (nodes_task_of_slot(s, (int)(w - s->workers)) < 0 && s->shaper)
		piece_reader_argv(s->cfg->self_path, off, len, 0, s->shaper_path, &dd);
	else
		piece_reader_argv(s->cfg->self_path, off, len, rate_share_kib(s), NULL, &dd);
	/*
	 * Names go through pipes, never argv, which any local user reads in
	 * ps: the reader's path and the header it sends the writer ahead of
	 * the data (small enough, split_candidate saw to it, for the pipe to
	 * hold before the reader runs).
	 */
	piece_reader_input(src.buf, header.buf, header.len, &input);
	/* On a node of the transfer's Slurm job: the same two processes there. */
	if (nodes_task_of_slot(s, (int)(w - s->workers)) >= 0) {
		rc = nodes_start_piece(s, w, cmd.buf, &dd, &input);
		strvec_clear(&ssh);
		strvec_clear(&dd);
		strbuf_release(&header);
		strbuf_release(&cmd);
		strbuf_release(&src);
		strbuf_release(&input);
		if (rc < 0)
			return rc;
		goto started;
	}
	rc = xpipe_cloexec(in);
	if (rc == 0 && write_all(in[1], input.buf, input.len) < 0)
		rc = SYNC_ERR_SYSTEM;
	if (in[1] >= 0)
		close(in[1]);

	p[0] = p[1] = -1;
	if (rc == 0)
		rc = xpipe_cloexec(p);
	if (rc == 0) {
		memset(&writer, 0, sizeof writer);
		writer.argv = (const char *const *)ssh.v;
		writer.stdin_fd = p[0];
		writer.pipe_stderr = true;
		writer.new_pgroup = true;
		writer.die_with_parent = true;
		rc = spawn_start(&writer);
	}
	if (rc == 0) {
		memset(&reader, 0, sizeof reader);
		reader.argv = (const char *const *)dd.v;
		reader.env_set = env;
		reader.stdin_fd = in[0];
		reader.stdout_fd = p[1];
		reader.pipe_stderr = true;
		reader.join_pgroup = writer.pid;
		reader.die_with_parent = true;
		if ((rc = spawn_start(&reader)) < 0) {
			kill(-writer.pid, SIGKILL);
			spawn_wait(writer.pid, NULL);
			spawn_close_fds(&writer);
		}
	}
	if (p[0] >= 0) {
		close(p[0]);
		close(p[1]);
	}
	if (in[0] >= 0)
		close(in[0]);
	strvec_clear(&ssh);
	strvec_clear(&dd);
	strbuf_release(&header);
	strbuf_release(&cmd);
	strbuf_release(&src);
	strbuf_release(&input);
	if (rc < 0) {
		set_failure(s, "cannot start a piece of a large file: %s", strerror(errno));
		return rc;
	}
	/* The pool reads and reaps both from here on: the ssh leads, the reader feeds it. */
	w->job->pid[0] = writer.pid;
	w->job->pid[1] = reader.pid;
	w->job->fd[WORKER_ERR] = writer.err_fd;
	w->job->fd[WORKER_FEEDER_ERR] = reader.err_fd;
started:
	w->kind = JOB_PIECE;
	w->piece = sp->next++;
	w->reader_digest[0] = w->piece_digest[0] = '\0';
	w->piece_written = -1;
	w->moved_at = now_monotonic();
	w->timed_out = false;
	w->settles = false;
	s->dirs_settled = false;
	w->file_bytes = 0;
	w->nunits = 0;
	strbuf_reset(&w->current);
	strbuf_reset(&w->last_file);
	strbuf_reset(&w->err_tail);
	strbuf_reset(&w->err_line);
	strbuf_reset(&w->feeder_line);
	sp->running++;
	return SYNC_OK;
}

/* Take what the reader of a piece printed: its byte count. */
void
take_feeder_output(struct worker *w, const char *buf, size_t n)
{
	size_t i;
	uint64_t v;

	for (i = 0; i < n; i++) {
		if (buf[i] == '\r' || buf[i] == '\n') {
			if (piece_parse_progress(w->feeder_line.buf, w->feeder_line.len, &v) == 0) {
				if (v > w->file_bytes)
					w->moved_at = now_monotonic();
				w->file_bytes = v;
			}
			else if (piece_parse_digest(w->feeder_line.buf, w->feeder_line.len,
						    w->reader_digest) == 0)
				;
			else if (w->feeder_line.len && buf[i] == '\n')
				take_stderr(w, w->feeder_line.buf, w->feeder_line.len);
			strbuf_reset(&w->feeder_line);
		} else if (w->feeder_line.len < 512)
			strbuf_addch(&w->feeder_line, buf[i]);
	}
}

/* Bytes of the split that have arrived, as far as we know. */
uint64_t
split_bytes(struct sup *s)
{
	uint64_t b = s->split.done_bytes;
	int i;

	for (i = 0; i < s->nworkers; i++)
		if (s->workers[i].job->busy && s->workers[i].kind == JOB_PIECE)
			b += s->workers[i].file_bytes;
	return b > s->split.size ? s->split.size : b;
}

/* Is the file still as it was when first read (the same inode, size and times)? */
static bool
split_same_file_state(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       same_change_times(a, b);
}

/*
 * Read the pieces' file back on the far side: is each range, in the file
 * as it is now, what its reader sent? The streams' digests say what
 * arrived, not what the file holds after (a dd that wrote elsewhere, a
 * file cut or written by something else).
 */
static bool
pieces_file_matches(struct sup *s)
{
	struct split *sp = &s->split;
	struct strbuf header = STRBUF_INIT, cmd = STRBUF_INIT, esc = STRBUF_INIT;
	int status, rc;
	bool ok;

	piece_paths(s, sp->unit.path, &header, NULL);
	piece_check_command(s->pieces_suffix.buf, sp->size, sp->sums, sp->npieces, &cmd);
	rc = split_run_remote_input(s, cmd.buf, &header, &status);
	ok = rc == SYNC_OK && WIFEXITED(status) && WEXITSTATUS(status) == 0;
	if (!ok && !got_stop_signal) {
		escape_untrusted(&esc, sp->unit.path, strlen(sp->unit.path));
		if (rc == SYNC_ERR_TIMEOUT)
			log_warn("'%s': the far side read nothing of its pieces' file back "
				 "for %u s (io_timeout); checking it with rsync", esc.buf,
				 s->cfg->io_timeout);
		else
			log_warn("'%s': its pieces' file on the far side is not what was sent "
				 "(%s); checking it with rsync", esc.buf,
				 spawn_status_text(status));
	}
	strbuf_release(&header);
	strbuf_release(&cmd);
	strbuf_release(&esc);
	return ok;
}

/*
 * Every piece of the split arrived and matched what was read, the file
 * on the far side reads back the same, and the source did not change
 * meanwhile: the pieces' file is the file. Put it under its name with
 * rsync -a's attributes, and count the unit done (an rsync would only
 * read the whole file on both sides to find that out). When it was the
 * last of the transfer, the same command gives the directories above the
 * cut theirs.
 */
static bool
split_settle(struct sup *s)
{
	struct split *sp = &s->split;
	struct strbuf file = STRBUF_INIT, local = STRBUF_INIT, row = STRBUF_INIT;
	struct attrs_list l = { NULL, 0, 0 };
	struct stat sb;
	bool ok = false, with_dirs = false, in_tx;
	size_t at;

	piece_paths(s, sp->unit.path, NULL, &file);
	strbuf_addf(&local, "%s/%s", s->source_root, sp->unit.path);
	/*
	 * The pieces cover the size the walk saw: a file that grew since (a
	 * resumed transfer walks again but keeps its units' sizes) is not
	 * all there.
	 */
	if (!sp->source_st_ok || lstat(local.buf, &sb) < 0 ||
	    !split_same_file_state(&sb, &sp->source_st) || (uint64_t)sb.st_size != sp->size) {
		struct strbuf esc = STRBUF_INIT;

		escape_untrusted(&esc, sp->unit.path, strlen(sp->unit.path));
		log_warn("'%s' changed while it was being sent in pieces; sending it again",
			 esc.buf);
		strbuf_release(&esc);
		/* Its copy has the size and time of the first read: rsync must look inside. */
		strvec_push(&s->recheck, sp->unit.path);
		goto out;
	}
	if (!pieces_file_matches(s) || !attrs_list_add(s, &l, sp->unit.path, &sb))
		goto out;
	if (s->have_dirs && nothing_else_left(s, NULL)) {
		size_t one = l.nr;

		with_dirs = attrs_list_add_dirs(s, &l);
		while (!with_dirs && l.nr > one)
			finish_attrs_release(&l.v[--l.nr]);
	}
	if (!run_finish(s, file.buf, l.v, l.nr, "a file moved in pieces"))
		goto out;
	ok = true;
	s->changed = true;
	s->dirs_settled = with_dirs;
	/* With what it sent: a resumed run would not count it again. */
	in_tx = store_begin(s->st) == SYNC_OK;
	if (store_unit_set_received(s->st, sp->unit.id) < 0)
		log_warn("cannot record a unit received: %s", store_errmsg(s->st));
	if (store_unit_set_done(s->st, sp->unit.id, sp->unit.attempts + 1, sp->size, 1) < 0)
		log_warn("cannot record a done unit: %s", store_errmsg(s->st));
	/* Not again when an rsync cut off had counted it (see worker_count_file_sent). */
	if (!sorted_find(&s->sent_unsure, sp->unit.path, &at)) {
		s->bytes_done += sp->size;
		s->files_done++;
		if (sp->created)
			s->created++;
		else
			s->updated++;
	}
	commit_with_totals(s, in_tx, "a done unit");
	forget_leftovers(s, &sp->unit);
	pieces_row(s, sp->unit.path, &row);
	store_leftover_remove(s->st, s->t.id, row.buf);
	count_done(s, &sp->unit);
out:
	attrs_list_release(&l);
	strbuf_release(&file);
	strbuf_release(&local);
	strbuf_release(&row);
	return ok;
}

/*
 * The last piece has ended: the file goes on to an rsync of its own, which
 * finds the pieces as its basis, checks every block, sends whatever is
 * missing or differs, and puts the file under its name.
 */
static void
split_end(struct sup *s)
{
	struct split *sp = &s->split;
	struct strbuf esc = STRBUF_INIT;

	escape_untrusted(&esc, sp->unit.path, strlen(sp->unit.path));
	if (sp->excluded) {
		store_unit_set_state(s->st, sp->unit.id, UNIT_EXCLUDED, sp->unit.attempts, NULL);
		s->units_total--;
		log_info("stopped '%s' on request", esc.buf);
		unit_release(&sp->unit);
	} else if (got_stop_signal || s->aborting) {
		requeue_unit(s, &sp->unit, false);
	} else if (sp->verified == sp->npieces && split_settle(s)) {
		log_info("done '%s': 1 files, %llu bytes, in %d pieces in %.1f s, each checked "
			 "by its SHA-1", esc.buf, (unsigned long long)sp->size, sp->npieces,
			 now_monotonic() - sp->started);
		unit_release(&sp->unit);
	} else {
		log_info("'%s': %d pieces moved in %.1f s (%d failed, %d checked); checking it "
			 "with rsync", esc.buf, sp->npieces, now_monotonic() - sp->started,
			 sp->failed, sp->verified);
		/* rsync goes on from them (else it sends all; the cleanup sees to the file). */
		if (!split_give_back_pieces(s, &sp->unit))
			log_warn("'%s': cannot give its pieces to rsync; it sends the file again",
				 esc.buf);
		store_unit_set_state(s->st, sp->unit.id, UNIT_PENDING, sp->unit.attempts, NULL);
		queue_retry(s, &sp->unit, 0, true);
	}
	sp->active = false;
	strbuf_release(&esc);
}

/* A piece's processes have ended. */
void
finish_piece(struct sup *s, struct worker *w)
{
	struct split *sp = &s->split;
	bool ok = WIFEXITED(w->job->status[0]) && WEXITSTATUS(w->job->status[0]) == 0 &&
		  WIFEXITED(w->job->status[1]) && WEXITSTATUS(w->job->status[1]) == 0;
	uint64_t off, len;

	piece_range(sp, w->piece, &off, &len);
	sp->running--;
	/* Checked: all of it read, written, and the same at both ends. */
	if (ok && w->file_bytes == len && w->piece_written == 0 && w->reader_digest[0] &&
	    strcmp(w->reader_digest, w->piece_digest) == 0) {
		sp->verified++;
		memcpy(sp->sums[w->piece].hex, w->reader_digest, sizeof sp->sums[w->piece].hex);
	}
	if (ok)
		sp->done_bytes += len;
	else if (!w->job->stopped && !got_stop_signal) {
		struct strbuf reason = STRBUF_INIT;
		/* spawn_status_text's buffer is static: one status at a time. */
		char *ssh_status = xstrdup(spawn_status_text(w->job->status[0]));

		sp->failed++;
		last_error_line(w, &reason);
		/* Not fatal: the rsync that follows sends what this piece did not. */
		if (w->timed_out)
			log_warn("piece %d of a large file: nothing moved for %u s (io_timeout), "
				 "ended", w->piece, s->cfg->io_timeout);
		else
			log_warn("piece %d of a large file: ssh %s, reader %s%s%s", w->piece,
				 ssh_status, spawn_status_text(w->job->status[1]),
				 reason.len ? ": " : "", reason.buf);
		free(ssh_status);
		strbuf_release(&reason);
	}
	w->file_bytes = 0;
	if (sp->running == 0 && (sp->next == sp->npieces || !split_piece_ready(s)))
		split_end(s);
}
