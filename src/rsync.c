/* rsync: build the argv for rsync and ssh, and the remote commands they run. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rsync.h"

/* Append one "-o NAME=value" pair. */
static void
push_opt(struct strvec *argv, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
push_opt(struct strvec *argv, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	strvec_push(argv, "-o");
	strvec_push(argv, sb.buf);
	strbuf_release(&sb);
}

/*
 * Append "-o NAME=\"path\"" as ssh reads it back: it splits an -o value at
 * spaces unless in double quotes, and expands % in it ("%%" is one). A
 * path no ssh reads the same ('"', '\\', "${": ssh expands variables)
 * is left out: false. The options check refuses such a key path.
 */
static bool
push_paths_opt(struct strvec *argv, const char *name, const char *const *paths, size_t n)
{
	struct strbuf sb = STRBUF_INIT;
	const char *p;
	size_t i;

	for (i = 0; i < n; i++)
		if (strpbrk(paths[i], "\"\\") || strstr(paths[i], "${"))
			return false;
	strbuf_addf(&sb, "%s=", name);
	for (i = 0; i < n; i++) {
		strbuf_addstr(&sb, i ? " \"" : "\"");
		for (p = paths[i]; *p; p++) {
			if (*p == '%')
				strbuf_addch(&sb, '%');
			strbuf_addch(&sb, *p);
		}
		strbuf_addch(&sb, '"');
	}
	strvec_push(argv, "-o");
	strvec_push(argv, sb.buf);
	strbuf_release(&sb);
	return true;
}

/* The same for one path. */
static bool
push_path_opt(struct strvec *argv, const char *name, const char *path)
{
	return push_paths_opt(argv, name, &path, 1);
}

void
ssh_base_argv(const struct ssh_target *t, struct strvec *argv)
{
	strvec_push(argv, t->program ? t->program : "ssh");
	if (t->ssh_config) {
		strvec_push(argv, "-F");
		strvec_push(argv, t->ssh_config);
	}
	push_opt(argv, "BatchMode=yes");
	push_opt(argv, "StrictHostKeyChecking=accept-new");
	/*
	 * It takes a list split at spaces: "/home/a b/.ssh/known_hosts" was
	 * "/home/a" and "b/.ssh/known_hosts", and no host key was ever kept.
	 * A $HOME ssh cannot take leaves ssh its own default, the account's
	 * ~/.ssh/known_hosts.
	 */
	/*
	 * Where $HOME is the account's home, ssh finds the files itself, and
	 * the option would hide known_hosts2 and a UserKnownHostsFile of the
	 * configuration from it: a key check blind to them learns a key that
	 * they contradict. Elsewhere ($HOME set apart) both files there.
	 */
	if (t->known_hosts && !t->known_hosts_default) {
		char *second = xasprintf("%s2", t->known_hosts);
		const char *both[2] = { t->known_hosts, second };

		push_paths_opt(argv, "UserKnownHostsFile", both, 2);
		free(second);
	}
	/*
	 * Without a key of ours, ssh's own identities, agent and configuration
	 * (ssh_target.key_path).
	 */
	if (t->key_path && *t->key_path) {
		push_opt(argv, "IdentitiesOnly=yes");
		/*
		 * The key "/a b/id" was "/a" (the options check refuses what cannot
		 * be passed); ssh is given the private link to it where there is one.
		 */
		push_path_opt(argv, "IdentityFile", t->key_given ? t->key_given : t->key_path);
	}
	push_opt(argv, "PasswordAuthentication=no");
	push_opt(argv, "KbdInteractiveAuthentication=no");
	push_opt(argv, "ConnectTimeout=%d", t->connect_timeout > 0 ? t->connect_timeout : 30);
	push_opt(argv, "ServerAliveInterval=15");
	push_opt(argv, "ServerAliveCountMax=4");
	/* rsync compresses by itself where it helps; ssh never should. */
	push_opt(argv, "Compression=no");
	if (t->control_path) {
		push_opt(argv, "ControlPath=%s", t->control_path);
		/* Fall back to a connection of our own if the master is gone. */
		push_opt(argv, "ControlMaster=no");
	}
	if (t->port > 0) {
		strvec_push(argv, "-p");
		strvec_pushf(argv, "%d", t->port);
	}
	if (t->user) {
		strvec_push(argv, "-l");
		strvec_push(argv, t->user);
	}
}

void
ssh_command_argv(const struct ssh_target *t, const char *const *remote_argv,
		 struct strvec *argv)
{
	struct strbuf cmd = STRBUF_INIT;

	ssh_base_argv(t, argv);
	strvec_push(argv, t->host);
	sq_quote_argv(&cmd, remote_argv);
	strvec_push(argv, cmd.buf);
	strbuf_release(&cmd);
}

void
ssh_stdin_argv(const struct ssh_target *t, const char *const *remote_argv,
	       struct strvec *argv, struct strbuf *script)
{
	const char *const *words = remote_argv;
	const char *body = "exec \"$@\"";

	ssh_base_argv(t, argv);
	strvec_push(argv, t->host);
	strvec_push(argv, "sh -s");
	if (words[0] && words[1] && words[2] && words[3] &&
	    strcmp(words[0], "sh") == 0 && strcmp(words[1], "-c") == 0) {
		body = words[2];
		words += 4;
	}
	/*
	 * sh reads a group whole before it runs any of it: a script cut short
	 * (the link dropped) is a syntax error, never a command with half its
	 * arguments. Nothing in it reads the script's own stdin.
	 */
	strbuf_addstr(script, "{ set --");
	for (; *words; words++) {
		strbuf_addch(script, ' ');
		sq_quote(script, *words);
	}
	strbuf_addf(script, "\n%s\n} </dev/null\n", body);
}

void
ssh_shell_argv(const struct ssh_target *t, const char *cmd, struct strvec *argv)
{
	ssh_base_argv(t, argv);
	strvec_push(argv, t->host);
	strvec_push(argv, cmd);
}

void
piece_reader_argv(const char *program, uint64_t offset, uint64_t len, unsigned long kib_per_s,
		  const char *bucket, struct strvec *argv)
{
	strvec_push(argv, program);
	strvec_push(argv, "__read-piece");
	strvec_pushf(argv, "%llu", (unsigned long long)offset);
	strvec_pushf(argv, "%llu", (unsigned long long)len);
	strvec_pushf(argv, "%lu", kib_per_s);
	if (bucket)
		strvec_push(argv, bucket);
}

void
piece_reader_input(const char *path, const char *header, size_t header_len, struct strbuf *out)
{
	strbuf_addstr(out, path);
	strbuf_addch(out, '\0');
	strbuf_add(out, header, header_len);
}

void
piece_suffix(int64_t transfer_id, struct strbuf *out)
{
	strbuf_addf(out, "%s%lld", PIECE_FILE_SUFFIX, (long long)transfer_id);
}

void
piece_header(const char *dir, const char *name, struct strbuf *out)
{
	strbuf_addf(out, "%zu %zu\n", strlen(dir), strlen(name));
	strbuf_addstr(out, dir);
	strbuf_addstr(out, name);
}

/*
 * What every piece command begins with, for sh -c with SUFFIX first: the
 * header (piece_header) from stdin. read takes the line of lengths byte by
 * byte (a shell never reads a pipe past the newline it looks for), and dd
 * with bs=1 exactly the bytes of each name, whatever they are (the x keeps
 * a name's trailing newlines from $()); the data that follows stays on
 * stdin. d is the partial directory, b the file's name, f the pieces' file.
 */
#define PIECE_PROLOGUE \
	"read n m || exit 1; " \
	"d=$(dd bs=1 count=\"$n\" status=none; echo x); d=${d%x}; " \
	"b=$(dd bs=1 count=\"$m\" status=none; echo x); b=${b%x}; " \
	"[ -n \"$d\" ] && [ -n \"$b\" ] || exit 1; f=\"$d/$b$1\"; "

/*
 * The writer, for sh -c with SUFFIX OFFSET SIZE: one line without '!',
 * since it travels single-quoted through the remote user's login shell
 * (csh, perhaps). Once in the partial directory's parent it names that
 * directory by its own name: a destination given relative to the remote
 * home is relative to where the writer started. The far side's commands
 * take the file as a redirection, not as an argument, and mkdir only the
 * partial directory's own name, so that its process table does not show
 * the names either. The file is sized first: a dd with count=0 sets its
 * length to SIZE, which cuts off whatever lay beyond from before and never
 * touches a byte within, so each piece may do it, in any order, while
 * others write. Every piece's dd then writes with conv=notrunc (its output
 * opened with <>, which never truncates). tee hands the stream to dd and
 * to sha1sum at once, so that the digest of what arrived costs no second
 * read; with ",sparse" as $4, dd seeks over blocks of zeros instead of
 * writing them, which leaves holes in the file the sizing made sparse
 * (rsync --sparse). dd's status and the digest go to stderr as "//dd N" and
 * "//sha1 HEX". Without tee's /dev/fd or sha1sum the digest is missing or
 * wrong, and the caller lets rsync check the file.
 */
static const char piece_writer_script[] =
	PIECE_PROLOGUE
	"case $d in */*) p=${d%/*} ;; *) p=. ;; esac; "
	"cd -- \"$p\" && mkdir -p -m 700 -- \"${d##*/}\" || exit 1; d=${d##*/}; f=\"$d/$b$1\"; "
	"if [ -h \"$d\" ] || [ -h \"$f\" ]; then exit 1; fi; "
	"dd of=/dev/stdout bs=1 seek=\"$3\" count=0 status=none </dev/null 1<>\"$f\" || exit 1; "
	"{ tee /dev/fd/3 | dd bs=1M seek=\"$2\" oflag=seek_bytes conv=\"notrunc$4\" "
	"status=none 1<>\"$f\"; echo \"" PIECE_WRITTEN_PREFIX "$?\" >&2; } 3>&1 | sha1sum | "
	"{ read h x; echo \"" PIECE_DIGEST_PREFIX "$h\" >&2; }";

void
piece_writer_command(const char *suffix, uint64_t offset, uint64_t size, bool sparse,
		     struct strbuf *out)
{
	/*
	 * dd follows symbolic links: a partial directory or file on the far
	 * side that is a link (out of the destination, perhaps) is not
	 * written through; the piece fails and rsync sends that data.
	 */
	strbuf_addstr(out, "sh -c ");
	sq_quote(out, piece_writer_script);
	strbuf_addstr(out, " sh ");
	sq_quote(out, suffix);
	strbuf_addf(out, " %llu %llu", (unsigned long long)offset, (unsigned long long)size);
	if (sparse)
		strbuf_addstr(out, " ,sparse");
}

/*
 * The check, for sh -c with SUFFIX SIZE, then OFFSET LENGTH HEX of each
 * piece: the file has SIZE bytes, and each range, read back from the
 * file (all at once, in the background), has the digest its reader sent.
 * Any mismatch, or a dd or sha1sum that cannot, prints an x: exit 1.
 * Each range is read 64 MiB at a time, with a dot on stderr after each,
 * so that the caller can tell a long read from a file system that hangs.
 */
static const char piece_check_script[] =
	PIECE_PROLOGUE
	"if [ -h \"$d\" ] || [ -h \"$f\" ]; then exit 1; fi; test -f \"$f\" || exit 1; "
	"s=$(wc -c <\"$f\") && [ $s = \"$2\" ] || exit 1; shift 2; "
	"r=$(while [ $# -ge 3 ]; do { h=$(o=$1; e=$(($1 + $2)); while [ $o -lt $e ]; do "
	"c=$((e - o)); [ $c -gt 67108864 ] && c=67108864; "
	"dd bs=1M skip=\"$o\" count=\"$c\" iflag=skip_bytes,count_bytes status=none <\"$f\"; "
	"echo . >&2; o=$((o + c)); done | sha1sum); "
	"[ \"${h%% *}\" = \"$3\" ] || echo x; } & shift 3; done); [ -z \"$r\" ]";

void
piece_check_command(const char *suffix, uint64_t size, const struct piece_sum *sums, int n,
		    struct strbuf *out)
{
	int k;

	strbuf_addstr(out, "sh -c ");
	sq_quote(out, piece_check_script);
	strbuf_addstr(out, " sh ");
	sq_quote(out, suffix);
	strbuf_addf(out, " %llu", (unsigned long long)size);
	for (k = 0; k < n; k++)
		strbuf_addf(out, " %llu %llu %s", (unsigned long long)sums[k].offset,
			    (unsigned long long)sums[k].len, sums[k].hex);
}

/*
 * Giving back, for sh -c with SUFFIX: the pieces' file, if there is one,
 * becomes rsync's partial file of the name (never into a directory of
 * that name), the basis of the rsync that checks it. (mv has to name
 * both, on the far side only, as the rename of finish.h does.)
 */
static const char piece_give_back_script[] =
	PIECE_PROLOGUE
	"if [ -h \"$d\" ] || [ -h \"$f\" ]; then exit 1; fi; test -f \"$f\" || exit 0; "
	"mv -f -T -- \"$f\" \"$d/$b\"";

void
piece_give_back_command(const char *suffix, struct strbuf *out)
{
	strbuf_addstr(out, "sh -c ");
	sq_quote(out, piece_give_back_script);
	strbuf_addstr(out, " sh ");
	sq_quote(out, suffix);
}

void
ssh_rsh_command(const struct ssh_target *t, struct strbuf *out)
{
	struct strvec argv = STRVEC_INIT;
	size_t i;

	ssh_base_argv(t, &argv);
	for (i = 0; i < argv.nr; i++) {
		if (i)
			strbuf_addch(out, ' ');
		rsync_rsh_quote(out, argv.v[i]);
	}
	strvec_clear(&argv);
}

void
rsync_remote_spec(struct strbuf *out, const char *host, const char *path)
{
	const char *p, *end;

	if (strchr(host, ':'))
		strbuf_addf(out, "[%s]:", host);
	else
		strbuf_addf(out, "%s:", host);
	/*
	 * With -s the remote rsync expands wildcards in each component of the
	 * path itself, against what its directories hold: "*" meant the first
	 * directory there (whose files then counted as having arrived). A
	 * component with *, ? or [ goes with them and its backslashes escaped,
	 * so that it only ever matches itself (the directory exists by then);
	 * any other component is taken literally, backslashes included.
	 */
	for (p = path; *p; p = end) {
		end = strchr(p, '/');
		if (end == NULL)
			end = p + strlen(p);
		if (memchr(p, '*', (size_t)(end - p)) || memchr(p, '?', (size_t)(end - p)) ||
		    memchr(p, '[', (size_t)(end - p))) {
			for (; p < end; p++) {
				if (strchr("*?[\\", *p))
					strbuf_addch(out, '\\');
				strbuf_addch(out, *p);
			}
		} else
			strbuf_add(out, p, (size_t)(end - p));
		if (*end == '/') {
			strbuf_addch(out, '/');
			end++;
		}
	}
}

bool
rsync_tmpname_prefix(struct strbuf *out, size_t dirlen, const char *base)
{
	/* The far side's MAXPATHLEN and NAME_MAX (Linux), and ".XXXXXX". */
	const long path_max = 4096, name_max = 255, suffix = 7;
	long maxname = path_max - (long)dirlen - 1 - suffix;
	const char *f = base;
	size_t len, n;

	/* A leading dot is not doubled. */
	if (*f == '.')
		f++;
	if (maxname > name_max - 1 - suffix)
		maxname = name_max - 1 - suffix;
	if (maxname < 0)
		return false;   /* rsync makes none: "temporary filename too long" */
	len = strlen(f);
	n = maxname == 0 ? 0 : len >= (size_t)maxname ? (size_t)maxname - 1 : len;
	/* Cut inside non-ASCII: back to before every byte of it in a row. */
	if (n < len && ((unsigned char)f[n] & 0x80))
		while (n > 0 && ((unsigned char)f[n - 1] & 0x80))
			n--;
	/* One trailing dot goes before the suffix's; with no name, the leading one. */
	if (n > 0 && f[n - 1] == '.')
		n--;
	else if (n == 0) {
		strbuf_addch(out, '.');
		return true;
	}
	strbuf_addch(out, '.');
	strbuf_add(out, f, n);
	strbuf_addch(out, '.');
	return true;
}

void
rsync_filter_escape(struct strbuf *out, const char *path)
{
	const char *p;

	/*
	 * rsync matches a pattern without *, ? or [ literally, backslashes
	 * included; in one with them, a backslash escapes the next character.
	 */
	if (strpbrk(path, "*?[") == NULL) {
		strbuf_addstr(out, path);
		return;
	}
	for (p = path; *p; p++) {
		if (strchr("*?[\\", *p))
			strbuf_addch(out, '\\');
		strbuf_addch(out, *p);
	}
}

void
rsync_exclude_rules(const char *const *paths, struct strbuf *out)
{
	for (; *paths; paths++) {
		strbuf_addch(out, '/');
		rsync_filter_escape(out, *paths);
		strbuf_addch(out, '\0');
	}
}

void
rsync_preserve_argv(unsigned preserve, struct strvec *argv)
{
	static const struct { unsigned bit; const char *flag; } flags[] = {
		{ RSYNC_HARD_LINKS, "-H" }, { RSYNC_ACLS, "-A" }, { RSYNC_XATTRS, "-X" },
		{ RSYNC_SPARSE, "-S" }, { RSYNC_NUMERIC_IDS, "--numeric-ids" },
	};
	size_t i;

	for (i = 0; i < sizeof flags / sizeof flags[0]; i++)
		if (preserve & flags[i].bit)
			strvec_push(argv, flags[i].flag);
}

void
rsync_job_argv(const struct rsync_job *job, struct strvec *argv)
{
	struct strbuf sb = STRBUF_INIT, then = STRBUF_INIT;

	strvec_push(argv, job->rsync_path);
	if (job->remote_env && !job->then_command && !job->before_command)
		strvec_pushf(argv, "--rsync-path=env %s rsync", job->remote_env);
	if (job->then_command || job->before_command) {
		/*
		 * The remote shell runs rsync's --rsync-path with the server's
		 * arguments after it: a sh that runs the command before, rsync
		 * with them, then the command after (when rsync ended well, or
		 * with files vanished), their output kept off the protocol's
		 * stdout. With nothing after it, rsync takes the shell's place.
		 */
		strbuf_addstr(&sb, "--rsync-path=sh -c ");
		if (job->before_command)
			strbuf_addf(&then, "{ %s; } </dev/null >&2 || exit 97; ",
				    job->before_command);
		if (job->remote_env)
			strbuf_addf(&then, "export %s; ", job->remote_env);
		strbuf_addstr(&then, job->then_command ? "rsync \"$@\"" : "exec rsync \"$@\"");
		if (job->then_command) {
			strbuf_addstr(&then, "; s=$?; if [ $s = 0 ] || [ $s = 24 ]; then { ");
			strbuf_addstr(&then, job->then_command);
			strbuf_addstr(&then, "; } </dev/null >&2; echo \"" RSYNC_THEN_PREFIX
				      "$?\" >&2; fi; exit $s");
		}
		sq_quote(&sb, then.buf);
		strbuf_addstr(&sb, " sh");
		strvec_push(argv, sb.buf);
		strbuf_release(&then);
		strbuf_reset(&sb);
	}
	/*
	 * -a without -H/-A/-X: what users expect of a copy, at rsync's speed;
	 * those where the transfer asks for them.
	 * -s keeps the remote path away from the remote shell. The list of
	 * paths comes on stdin, NUL-separated, so no name is ever an argument.
	 */
	strvec_push(argv, "-a");
	strvec_push(argv, "-s");
	rsync_preserve_argv(job->preserve, argv);
	if (job->chown)
		strvec_pushf(argv, "--chown=%s", job->chown);
	if (job->recursive)
		strvec_push(argv, "-r");
	else
		strvec_push(argv, "--no-r");
	if (job->compress)
		strvec_push(argv, "-z");
	if (job->ignore_times)
		strvec_push(argv, "--ignore-times");
	if (job->dry_run)
		strvec_push(argv, "-n");
	if (job->delete) {
		strvec_push(argv, "--delete");
		if (job->max_delete)
			strvec_pushf(argv, "--max-delete=%llu", job->max_delete);
	}
	/*
	 * Listed paths the source no longer has are deleted; with --delete,
	 * not --force, so that the filters and protect rules reach the far
	 * side and what they keep stays, its directory with it.
	 */
	if (job->delete_missing) {
		if (!job->delete)
			strvec_push(argv, "--delete");
		strvec_push(argv, "--delete-missing-args");
		if (job->max_delete && !job->delete)
			strvec_pushf(argv, "--max-delete=%llu", job->max_delete);
	}
	if (job->existing_only) {
		strvec_push(argv, "--existing");
		strvec_push(argv, "--ignore-existing");
	}
	/*
	 * Incremental recursion costs round trips per directory: a no-op of
	 * 20,000 files in 400 directories over a 50 ms link took 1.8 s with
	 * it and 0.9 s without. Its gain, less memory for huge trees, the
	 * caller weighs.
	 */
	if (job->whole_list)
		strvec_push(argv, "--no-inc-recursive");
	/*
	 * A list costs rsync more than its walk: a no-op of 20,000 files in 400
	 * listed directories took 0.41 s over loopback, of the source
	 * directory named 0.34 s. Both name files the same way.
	 */
	if (job->source_name == NULL) {
		if (job->files_from)
			strvec_pushf(argv, "--files-from=%s", job->files_from);
		else
			strvec_push(argv, "--files-from=-");
		strvec_push(argv, "--from0");
		/*
		 * Parents of listed paths exist already (created writable by the
		 * directory pass); sending them again with their real modes could
		 * make a read-only directory unwritable while its files are still
		 * coming. The last rsync of a transfer may send them, to settle
		 * them.
		 */
		if (!job->implied_dirs)
			strvec_push(argv, "--no-implied-dirs");
	}
	/* Files of the same size and time are read on both sides and compared. */
	if (job->checksum)
		strvec_push(argv, "--checksum");
	/* Per-file progress and one marked line per name, nothing else. */
	strvec_push(argv, "--info=progress1,name0,flist0,stats1");
	/*
	 * %i: what changed, so that a dry run names changes of attributes
	 * alone too, and a run tells what it created from what it updated.
	 */
	strvec_push(argv, "--out-format=" RSYNC_NAME_PREFIX "%i %n");
	/* What must stay whatever the rules say: first, as the first matching rule wins. */
	if (job->protect)
		strvec_pushf(argv, "--filter=P %s", job->protect);
	/* Parts stopped on request, then the transfer's filters. */
	if (job->exclude_from) {
		if (job->source_name)
			strvec_push(argv, "--from0");
		strvec_pushf(argv, "--exclude-from=%s", job->exclude_from);
	}
	if (job->partial_dir) {
		/*
		 * rsync excludes anything named like the partial dir; a source
		 * that has one must still arrive whole. Ours only ever exist on
		 * the receiving side, so the rule never sends them.
		 */
		strvec_pushf(argv, "--filter=+ %s/***", job->partial_dir);
		strvec_pushf(argv, "--partial-dir=%s", job->partial_dir);
	}
	/* Ours last: rsync applies the rules in order, and directories must stay writable. */
	if (job->user_chmod)
		strvec_pushf(argv, "--chmod=%s", job->user_chmod);
	if (job->chmod)
		strvec_pushf(argv, "--chmod=%s", job->chmod);
	if (job->bwlimit_kib)
		strvec_pushf(argv, "--bwlimit=%lu", job->bwlimit_kib);
	/*
	 * ssh's keepalives see a dead link, not a live one whose far side
	 * stopped reading or writing (a hung file system, a stopped rsync):
	 * without this, such a worker waits for ever.
	 */
	if (job->io_timeout)
		strvec_pushf(argv, "--timeout=%u", job->io_timeout);
	strvec_push(argv, "-e");
	strvec_push(argv, job->rsh);
	strvec_push(argv, "--");
	strbuf_addstr(&sb, job->source_root);
	if (sb.len == 0 || sb.buf[sb.len - 1] != '/')
		strbuf_addch(&sb, '/');
	/* After a slash: never read as host:path. No slash after it: the directory itself. */
	if (job->source_name)
		strbuf_addstr(&sb, job->source_name);
	strvec_push(argv, sb.buf);
	strbuf_reset(&sb);
	rsync_remote_spec(&sb, job->host, job->remote_dir);
	if (sb.buf[sb.len - 1] != '/')
		strbuf_addch(&sb, '/');
	strvec_push(argv, sb.buf);
	strbuf_release(&sb);
}
