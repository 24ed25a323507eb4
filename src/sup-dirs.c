/* sup-dirs: the destination and the directories above the cut, on the far side. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "finish.h"
#include "log.h"
#include "rsync.h"
#include "spawn.h"
#include "store.h"
#include "sup-internal.h"
#include "util.h"

/* How the lines of the mkdir before an rsync begin (see mkdir_function). */
#define MKDIR_PREFIX "//mkdir "

/*
 * The mkdir of the destination and the directories above the cut, one
 * shell function for the command of its own (create_remote_dirs) and for
 * the one before an rsync (mkdir_before). Its words (dirs_mkdir_args): how it
 * runs (s alone, b before an rsync), the destination, the source's own
 * directory there (only looked at), the directories to make.
 *
 * mkdir -p goes through a symbolic link where a directory should be
 * (creating directories outside the destination), and the units' rsyncs
 * (--no-implied-dirs) would write through it; it fails where a file is.
 * A listed directory that is a link or not a directory on the far side is
 * left alone ("//mkdir in-way"), and the rsync pass replaces it with a
 * directory, as a plain rsync -a does, and as the one rsync of everything
 * does itself; alone, it makes the destination only. mkdir runs only
 * when a directory is missing: a re-sync, where all are there, starts no
 * process for it before an rsync. Alone and with all there, it says each
 * one's mode and time first ("//mkdir attr 755 1500000000.500000000"): a
 * change of those alone in the source is seen (the directories get their
 * attributes at the end only when something changed). A far side that
 * is not root cannot create in a directory that the last run left
 * read-only, as the source has it: such a one is made writable to its
 * owner first (rsync does the same with the directories it lists), and
 * counts as changed, so that it gets its mode back at the end. Last it
 * says whether the source's directory was there, and whether it changed
 * any: "//mkdir old 0". No '!': it may travel single-quoted through a
 * login shell that is csh.
 */
static const char mkdir_function[] =
	"scow_mkdirs() { k=$1; d=$2; r=$3; shift 3; for p do w=0; [ -h \"$p\" ] && w=1; "
	"[ -d \"$p\" ] || { [ -e \"$p\" ] && w=1; }; if [ $w = 1 ]; then echo " MKDIR_PREFIX
	"in-way; [ $k = s ] || return 1; mkdir -p -- \"$d\"; return; fi; done; "
	"if [ -d \"$r\" ]; then m=old; else m=new; fi; "
	"c=0; for p in \"$d\" \"$@\"; do [ -d \"$p\" ] || c=1; done; "
	"if [ $k = s ] && [ $c = 0 ] && [ $# -gt 0 ]; then "
	"stat -c '" MKDIR_PREFIX "attr %a %.9Y' -- \"$@\" 2>/dev/null; fi; "
	"o=0; for p do if [ -d \"$p\" ]; then [ -w \"$p\" ] && [ -x \"$p\" ] || "
	"{ chmod u+wx -- \"$p\" 2>/dev/null && o=1; }; fi; done; "
	"if [ $c = 1 ]; then x=$(mkdir -p -v -- \"$d\" \"$@\") || "
	"{ echo " MKDIR_PREFIX "failed; return 1; }; [ -n \"$x\" ] && o=1; fi; "
	"echo \"" MKDIR_PREFIX "$m $o\"; }";

/*
 * The words after mkdir_function's name. listed: the directories above
 * the cut; otherwise the source's own directory alone, where its name
 * can be said (in sh, not csh: a line break cannot be in quotes there).
 */
static void
dirs_mkdir_args(struct sup *s, char how, bool listed, struct strvec *words)
{
	bool own = s->have_dirs && !strchr(s->t.destination, '\n') && !strchr(s->source_rel, '\n');
	size_t i;

	strvec_pushf(words, "%c", how);
	strvec_push(words, s->t.destination);
	if (listed || own)
		strvec_pushf(words, "%s/%s", s->t.destination, s->source_rel);
	else
		strvec_push(words, s->t.destination);
	for (i = 0; listed && i < s->mkdirs.nr; i++)
		strvec_pushf(words, "%s/%s", s->t.destination, s->mkdirs.v[i]);
	/* Too many to list: the source's own directory tells new from re-sync. */
	if (!listed && own)
		strvec_pushf(words, "%s/%s", s->t.destination, s->source_rel);
}

/*
 * Does what the mkdir said of the listed directories' modes and times
 * (one "attr" line each, in their order) differ from the source's? Also
 * when it said nothing of some (no stat there).
 */
static bool
dirs_attrs_differ(struct sup *s, const struct strvec *attrs)
{
	struct strbuf local = STRBUF_INIT, want = STRBUF_INIT;
	struct stat sb;
	bool differ = attrs->nr != s->mkdirs.nr;
	size_t i;

	for (i = 0; !differ && i < s->mkdirs.nr; i++) {
		strbuf_reset(&local);
		strbuf_reset(&want);
		strbuf_addf(&local, "%s/%s", s->source_root, s->mkdirs.v[i]);
		if (lstat(local.buf, &sb) < 0)
			break;
		strbuf_addf(&want, "%o %lld.%09ld", (unsigned)(sb.st_mode & 07777),
			    (long long)sb.st_mtim.tv_sec, (long)sb.st_mtim.tv_nsec);
		differ = strcmp(want.buf, attrs->v[i]) != 0;
	}
	strbuf_release(&local);
	strbuf_release(&want);
	return differ;
}

/*
 * Create the destination, and the directories above the cut when they are
 * few, with one remote command through the shared connection: one round
 * trip instead of an rsync pass. The names go on its stdin; a long list
 * leaves the directories to the rsync pass (*dirs_done false).
 */
int
create_remote_dirs(struct sup *s, bool *dirs_done)
{
	struct strvec words = STRVEC_INIT, argv = STRVEC_INIT, attrs = STRVEC_INIT;
	struct strbuf err = STRBUF_INIT, esc = STRBUF_INIT, out = STRBUF_INIT;
	struct strbuf script = STRBUF_INIT, body = STRBUF_INIT;
	size_t plen = strlen(MKDIR_PREFIX), at, end;
	enum mkdir_said said = MKDIR_UNSAID;
	bool changed = false;
	int status = -1, rc;

	*dirs_done = s->have_dirs && !s->mkdirs_overflow;
	strbuf_addf(&body, "%s; scow_mkdirs \"$@\"", mkdir_function);
	strvec_push(&words, "sh");
	strvec_push(&words, "-c");
	strvec_push(&words, body.buf);
	strvec_push(&words, "sh");
	dirs_mkdir_args(s, 's', *dirs_done, &words);
	/* The names on stdin: a command line is any local user's to read. */
	ssh_stdin_argv(&s->target, (const char *const *)words.v, &argv, &script);
	rc = remote_capture(s, (const char *const *)argv.v, &script, &status, &out, &err);
	strvec_clear(&argv);
	strvec_clear(&words);
	strbuf_release(&script);
	strbuf_release(&body);
	for (at = 0; at < out.len; at = end + 1) {
		const char *line = out.buf + at;
		size_t len;

		end = at;
		while (end < out.len && out.buf[end] != '\n')
			end++;
		len = end - at;
		if (len < plen || memcmp(line, MKDIR_PREFIX, plen) != 0)
			continue;
		line += plen;
		len -= plen;
		if (len == 6 && memcmp(line, "in-way", 6) == 0)
			said = MKDIR_IN_WAY;
		else if (len > 5 && memcmp(line, "attr ", 5) == 0)
			strvec_pushf(&attrs, "%.*s", (int)(len - 5), line + 5);
		else if (len == 5 &&
			 (memcmp(line, "new ", 4) == 0 || memcmp(line, "old ", 4) == 0)) {
			said = line[0] == 'n' ? MKDIR_NEW : MKDIR_OLD;
			changed = line[4] == '1';
		}
	}
	strbuf_release(&out);
	if (said == MKDIR_IN_WAY) {
		log_info("a directory above the cut is a symbolic link or not a directory on "
			 "the far side; the directory pass makes it a directory");
		*dirs_done = false;
	}
	/*
	 * When the source's directory is new, so is everything under it:
	 * nothing there to check first. The lock's command made the
	 * destination just before: as new.
	 */
	s->fresh = said == MKDIR_NEW || (said == MKDIR_OLD && s->lock.made);
	/* Something to give its attributes to at the end (the rsync pass sees to all). */
	if (changed || (said == MKDIR_OLD && *dirs_done && dirs_attrs_differ(s, &attrs)))
		s->changed = true;
	strvec_clear(&attrs);
	if (rc == SYNC_OK && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		strbuf_release(&err);
		return SYNC_OK;
	}
	/* Ended by a stop signal: not a failure, the caller sees the signal. */
	if (rc == SYNC_ERR_TIMEOUT && got_stop_signal) {
		strbuf_release(&err);
		return SYNC_ERR_REMOTE;
	}
	strbuf_trim_eol(&err);
	escape_untrusted(&esc, err.buf, err.len);
	if (rc == SYNC_ERR_TIMEOUT)
		set_failure(s, "cannot create destination '%s': the far side did not answer "
			    "in %d s", s->shown_dest, REMOTE_TIMEOUT_MS / 1000);
	else
		set_failure(s, "cannot create destination '%s': %s", s->shown_dest,
			    esc.len ? esc.buf : spawn_status_text(status));
	strbuf_release(&err);
	strbuf_release(&esc);
	return SYNC_ERR_REMOTE;
}

/*
 * The same mkdir as a command line for the remote shell, for an rsync to
 * run before it (rsync_job.before_command): the round trip of a command
 * of its own is saved. A link among the directories stops it and the
 * rsync (the caller then makes them as above). It is a function of the
 * shell that runs rsync, not a shell of its own.
 */
void
mkdir_before(struct sup *s, bool listed, struct strbuf *out)
{
	struct strvec words = STRVEC_INIT;

	strbuf_addf(out, "%s; scow_mkdirs ", mkdir_function);
	dirs_mkdir_args(s, 'b', listed, &words);
	sq_quote_argv(out, (const char *const *)words.v);
	strvec_clear(&words);
}

/* Is no directory above the cut but the source itself? */
bool
mkdirs_are_source(const struct sup *s)
{
	return s->mkdirs.nr == 0 ||
	       (s->mkdirs.nr == 1 && strcmp(s->mkdirs.v[0], s->source_rel) == 0);
}

/*
 * Are the directories above the cut, here, directories that stay
 * writable to their owner (as batch_implies_dirs wants)?
 */
static bool
dirs_above_writable(const struct sup *s)
{
	struct strbuf local = STRBUF_INIT;
	struct stat sb;
	bool ok = !s->mkdirs_overflow;
	size_t i;

	for (i = 0; ok && i < s->mkdirs.nr; i++) {
		strbuf_reset(&local);
		strbuf_addf(&local, "%s/%s", s->source_root, s->mkdirs.v[i]);
		ok = lstat(local.buf, &sb) == 0 && S_ISDIR(sb.st_mode) &&
		     (sb.st_mode & 0300) == 0300;
	}
	strbuf_release(&local);
	return ok;
}

/*
 * May mkdir_before ride on the command line of the one rsync that sends
 * everything? Any local user reads it: only when it names nothing that
 * rsync's own operands do not show. That is so when no directory above
 * the cut is there but the source itself; or when that rsync names the
 * source whole (dirs_batch_is_everything, batch_implies_dirs) and so makes
 * every directory under it: then the mkdir names only the destination
 * and the source (start_worker sees that it does). Otherwise the mkdir of
 * its own (create_remote_dirs) costs a round trip and shows nothing. The
 * dry run of a re-sync lists what it checks: it never carries the mkdir.
 */
bool
mkdir_names_nothing_new(struct sup *s)
{
	uint64_t c[5];

	return s->have_dirs && !s->mkdirs_overflow &&
	       (mkdirs_are_source(s) || dirs_above_writable(s)) &&
	       s->excludes.nr == 0 && s->walk_errors == 0 &&
	       store_unit_counts(s->st, s->t.id, c) == SYNC_OK && c[UNIT_DONE] == 0 &&
	       c[UNIT_FAILED] == 0 && c[UNIT_EXCLUDED] == 0;
}

/* Is line what the mkdir before an rsync says ("//mkdir new 1", "//mkdir in-way")? */
bool
take_mkdir_report(struct worker *w, const char *line, size_t len)
{
	size_t plen = strlen(MKDIR_PREFIX);

	if (len < plen || memcmp(line, MKDIR_PREFIX, plen) != 0)
		return false;
	line += plen;
	len -= plen;
	if (len == 6 && memcmp(line, "in-way", 6) == 0)
		w->mkdir_said = MKDIR_IN_WAY;
	else if (len == 6 && memcmp(line, "failed", 6) == 0)
		w->mkdir_said = MKDIR_FAILED;
	else if (len == 5 && (memcmp(line, "new ", 4) == 0 || memcmp(line, "old ", 4) == 0) &&
		 (line[4] == '0' || line[4] == '1')) {
		w->mkdir_said = line[0] == 'n' ? MKDIR_NEW : MKDIR_OLD;
		w->mkdir_created = line[4] == '1';
	} else
		return false;
	return true;
}

/*
 * Run the finish command (finish.h) through the shared connection. True
 * when all of it was done; otherwise the caller has rsync do it.
 */
bool
run_finish(struct sup *s, const char *from, const struct finish_attrs *attrs, size_t n,
	   const char *what)
{
	struct strvec words = STRVEC_INIT, argv = STRVEC_INIT;
	struct strbuf err = STRBUF_INIT, esc = STRBUF_INIT, script = STRBUF_INIT;
	int status = -1, rc;
	bool ok;

	finish_command(from, attrs, n, &words);
	ssh_stdin_argv(&s->target, (const char *const *)words.v, &argv, &script);
	rc = remote_capture(s, (const char *const *)argv.v, &script, &status, NULL, &err);
	ok = rc == SYNC_OK && WIFEXITED(status) && WEXITSTATUS(status) == 0;
	if (!ok && !got_stop_signal) {
		strbuf_trim_eol(&err);
		escape_untrusted(&esc, err.buf, err.len);
		log_info("cannot set the attributes of %s by one command (%s%s%s); rsync does it",
			 what, spawn_status_text(status), esc.len ? ": " : "", esc.buf);
	}
	strvec_clear(&words);
	strvec_clear(&argv);
	strbuf_release(&err);
	strbuf_release(&esc);
	strbuf_release(&script);
	return ok;
}

void
attrs_list_release(struct attrs_list *l)
{
	size_t i;

	for (i = 0; i < l->nr; i++)
		finish_attrs_release(&l->v[i]);
	free(l->v);
	memset(l, 0, sizeof *l);
}

/* Add the attributes of local path (relative to the source root) for the far side. */
bool
attrs_list_add(struct sup *s, struct attrs_list *l, const char *rel, const struct stat *sb)
{
	struct strbuf remote = STRBUF_INIT;
	bool ok;

	if (attrs_need_rsync(s))
		return false;
	strbuf_addf(&remote, "%s/%s", s->t.destination, rel);
	ALLOC_GROW(l->v, l->nr, l->alloc);
	ok = finish_attrs_from_stat(&l->v[l->nr], remote.buf, sb,
				    l->nr ? &l->v[l->nr - 1] : NULL);
	if (ok)
		l->nr++;
	else
		finish_attrs_release(&l->v[l->nr]);
	strbuf_release(&remote);
	return ok;
}

/*
 * Add the directories above the cut, when the first mkdir made them all
 * and they are few; false when the rsync pass must see to them.
 */
bool
attrs_list_add_dirs(struct sup *s, struct attrs_list *l)
{
	struct strbuf local = STRBUF_INIT;
	struct stat sb;
	size_t i;
	bool ok = s->dirs_made && s->mkdirs.nr > 0 && s->mkdirs.nr <= SETTLE_DIRS_MAX;

	for (i = 0; ok && i < s->mkdirs.nr; i++) {
		strbuf_reset(&local);
		strbuf_addf(&local, "%s/%s", s->source_root, s->mkdirs.v[i]);
		ok = lstat(local.buf, &sb) == 0 && S_ISDIR(sb.st_mode) &&
		     attrs_list_add(s, l, s->mkdirs.v[i], &sb);
	}
	strbuf_release(&local);
	return ok;
}

/*
 * The directories above the cut, made by the first mkdir and few: one
 * remote sh gives them their modes and times back. False: the rsync pass
 * is needed.
 */
bool
settle_dirs(struct sup *s)
{
	struct attrs_list l = { NULL, 0, 0 };
	bool ok = attrs_list_add_dirs(s, &l) &&
		  run_finish(s, NULL, l.v, l.nr, "the directories above the cut");

	attrs_list_release(&l);
	return ok;
}

/*
 * The closing command for the last rsync: the directories' attributes,
 * as a command line for the remote shell (rsync_job.then_command). False
 * when they cannot be set that way.
 */
bool
settle_dirs_command(struct sup *s, struct strbuf *out)
{
	struct attrs_list l = { NULL, 0, 0 };
	struct strvec words = STRVEC_INIT;
	bool ok;
	size_t i;

	/*
	 * The command names the directories above the cut (the source's own
	 * among them, which this rsync, a list's, does not show), and would
	 * ride on rsync's command line, which any local user reads: they get
	 * their attributes at the very end instead (settle_dirs), by a command
	 * that takes the names on stdin, for one round trip more. (So, as
	 * long as rsync's command line is the only way to give them, never.)
	 */
	if (s->mkdirs.nr > 0)
		return false;
	ok = attrs_list_add_dirs(s, &l);
	/*
	 * Only while their owner may still write into each: that rsync can
	 * still be followed by another (a file that changed while it read it
	 * is sent again), which a far side that is not root would not let
	 * write into a directory made read-only. Those get their attributes
	 * at the very end (settle_dirs).
	 */
	for (i = 0; ok && i < l.nr; i++)
		ok = (l.v[i].mode & 0300) == 0300;
	if (ok) {
		finish_command(NULL, l.v, l.nr, &words);
		sq_quote_argv(out, (const char *const *)words.v);
	}
	strvec_clear(&words);
	attrs_list_release(&l);
	return ok;
}

static int
dirs_strcmp_indirect(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * Can the last rsync give the directories above the cut their attributes
 * itself? rsync sends the parents of each listed path with their
 * attributes (its implied directories) and sets a directory's time after
 * what it wrote into it, as a plain rsync -a does. So when each of the
 * directories is a parent of one of w's units, and stays writable to its
 * owner (see settle_dirs_command), no command of ours is needed.
 */
bool
batch_implies_dirs(const struct sup *s, const struct worker *w)
{
	struct strbuf prefix = STRBUF_INIT;
	const char **sorted;
	bool *implied, ok;
	size_t i, k, left, n = s->mkdirs.nr;

	if (n == 0 || !dirs_above_writable(s))
		return false;
	sorted = xcalloc(n, sizeof *sorted);
	implied = xcalloc(n, sizeof *implied);
	for (i = 0; i < n; i++)
		sorted[i] = s->mkdirs.v[i];
	qsort(sorted, n, sizeof *sorted, dirs_strcmp_indirect);
	left = n;
	for (k = 0; k < w->nunits && left > 0; k++) {
		const char *path = w->units[k].unit.path, *slash;

		for (slash = strchr(path, '/'); slash && left > 0; slash = strchr(slash + 1, '/')) {
			const char *key;
			const char **at;

			strbuf_reset(&prefix);
			strbuf_add(&prefix, path, (size_t)(slash - path));
			key = prefix.buf;
			at = bsearch(&key, sorted, n, sizeof *sorted, dirs_strcmp_indirect);
			if (at && !implied[at - sorted]) {
				implied[at - sorted] = true;
				left--;
			}
		}
	}
	ok = left == 0;
	strbuf_release(&prefix);
	free(sorted);
	free(implied);
	return ok;
}

/*
 * Is w's batch every unit of the source: none done, failed or stopped on
 * request (the store says), and a walk that read everything? rsync's own
 * walk of the source directory then sends the same. A partial run (a
 * watch's cycle of what changed, a run trusting its record) walked only
 * what it was given: its units are never the whole source.
 */
static bool
dirs_batch_is_everything(const struct sup *s, const struct worker *w)
{
	uint64_t c[5];

	return s->have_dirs && !s->cfg->partial && s->excludes.nr == 0 && s->walk_errors == 0 &&
	       store_unit_counts(s->st, s->t.id, c) == SYNC_OK && c[UNIT_DONE] == 0 &&
	       c[UNIT_FAILED] == 0 && c[UNIT_EXCLUDED] == 0 &&
	       c[UNIT_PENDING] + c[UNIT_RUNNING] == w->nunits;
}

/*
 * Does w's rsync send the source whole, by its name, and so make and
 * settle every directory above the cut itself (start_worker)? Sent by
 * name with -r, each of them is in its list, one with no unit under it
 * too; each must stay writable to its owner (see settle_dirs_command).
 */
bool
batch_names_source(struct sup *s, const struct worker *w)
{
	return s->have_dirs && s->mkdirs.nr > 0 && nothing_else_left(s, w) &&
	       dirs_above_writable(s) && dirs_batch_is_everything(s, w);
}
