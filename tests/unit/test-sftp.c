/* Unit tests for sftp: the client against canned answers of a server. */
#include "config.h"

#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sftp.h"
#include "util.h"
#include "unit.h"

/* Build the server's side of a session: packets of type and body. */
static void
put_u32(struct strbuf *sb, uint32_t v)
{
	char b[4] = { (char)(v >> 24), (char)(v >> 16), (char)(v >> 8), (char)v };

	strbuf_add(sb, b, 4);
}

static void
put_packet(struct strbuf *sb, int type, const struct strbuf *body)
{
	put_u32(sb, (uint32_t)body->len + 1);
	strbuf_addch(sb, type);
	strbuf_add(sb, body->buf, body->len);
}

static void
put_string(struct strbuf *sb, const char *s, size_t len)
{
	put_u32(sb, (uint32_t)len);
	strbuf_add(sb, s, len);
}

/* A session whose server answers with the bytes of script. */
static struct sftp *
session(const struct strbuf *script)
{
	struct strbuf all = STRBUF_INIT, body = STRBUF_INIT;
	struct sftp *s = NULL;
	char err[256];
	int fd = memfd_create("sftp", MFD_CLOEXEC), out = open("/dev/null", O_WRONLY | O_CLOEXEC);

	put_u32(&body, 3);
	put_packet(&all, 2, &body);   /* VERSION 3 */
	strbuf_add(&all, script->buf, script->len);
	if (fd < 0 || out < 0 || write(fd, all.buf, all.len) != (ssize_t)all.len ||
	    lseek(fd, 0, SEEK_SET) != 0)
		return NULL;
	CHECK_INT(sftp_open_fds(out, fd, -1, -1, 1000, &s, err, sizeof err), SYNC_OK);
	strbuf_release(&all);
	strbuf_release(&body);
	return s;
}

static int
count_entries(const char *name, const struct sftp_attrs *a, void *ctx)
{
	(void)name;
	(void)a;
	(*(size_t *)ctx)++;
	return 0;
}

static int
count_names(const char *name, const struct sftp_attrs *a, void *ctx)
{
	struct strbuf *names = ctx;

	strbuf_addstr(names, name);
	strbuf_addch(names, ' ');
	return 0;
}

int
main(void)
{
	struct strbuf script = STRBUF_INIT, body = STRBUF_INIT, names = STRBUF_INIT;
	struct sftp_attrs a;
	struct sftp *s;
	size_t entries = 0, k, listed;
	uint32_t id;
	int fds[2];
	char err[256];

	/* A status message is the far side's: it arrives escaped. */
	put_u32(&body, 1);
	put_u32(&body, 4);
	put_string(&body, "gone\n\033[2J", 9);
	put_packet(&script, 101, &body);
	s = session(&script);
	CHECK_INT(sftp_lstat(s, "x\ny", &a), SYNC_ERR_REMOTE);
	CHECK_STR(sftp_errmsg(s), "lstat 'x\\x0ay': gone\\x0a\\x1b[2J");
	sftp_close(s);

	/* A long one is cut between characters, never inside one. */
	{
		struct strbuf long_msg = STRBUF_INIT, want = STRBUF_INIT;
		int i;

		for (i = 0; i < 200; i++)
			strbuf_addstr(&long_msg, "\xe4\xb8\xad");   /* 中 */
		strbuf_reset(&body);
		strbuf_reset(&script);
		put_u32(&body, 1);
		put_u32(&body, 4);
		put_string(&body, long_msg.buf, (uint32_t)long_msg.len);
		put_packet(&script, 101, &body);
		s = session(&script);
		CHECK_INT(sftp_lstat(s, "x", &a), SYNC_ERR_REMOTE);
		/* 200 bytes at most */
		strbuf_addf(&want, "lstat 'x': %.*s", 66 * 3, long_msg.buf);
		CHECK_STR(sftp_errmsg(s), want.buf);
		CHECK(utf8_valid(sftp_errmsg(s), strlen(sftp_errmsg(s))));
		sftp_close(s);
		strbuf_release(&long_msg);
		strbuf_release(&want);
	}

	/* A listing: ".", ".." and names holding NUL are left out. */
	strbuf_reset(&script);
	strbuf_reset(&body);
	put_u32(&body, 1);
	put_string(&body, "H", 1);
	put_packet(&script, 102, &body);   /* HANDLE */
	strbuf_reset(&body);
	put_u32(&body, 2);
	put_u32(&body, 4);
	put_string(&body, ".", 1); put_string(&body, "", 0); put_u32(&body, 0);
	put_string(&body, "..", 2); put_string(&body, "", 0); put_u32(&body, 0);
	put_string(&body, "a\0b", 3); put_string(&body, "", 0); put_u32(&body, 0);
	put_string(&body, ".f.Ab12Cd", 9); put_string(&body, "", 0); put_u32(&body, 0);
	put_packet(&script, 104, &body);   /* NAME */
	strbuf_reset(&body);
	put_u32(&body, 3);
	put_u32(&body, 1);
	put_packet(&script, 101, &body);   /* STATUS EOF */
	strbuf_reset(&body);
	put_u32(&body, 4);
	put_u32(&body, 0);
	put_packet(&script, 101, &body);   /* close: OK */
	s = session(&script);
	CHECK_INT(sftp_list(s, "d", count_names, &names), SYNC_OK);
	CHECK_STR(names.buf, ".f.Ab12Cd ");
	sftp_close(s);

	/*
	 * A readdir status cut short after its id is malformed; it is not
	 * read from the id (2 would mean "no such directory").
	 */
	strbuf_reset(&script);
	strbuf_reset(&body);
	put_u32(&body, 1);
	put_string(&body, "H", 1);
	put_packet(&script, 102, &body);
	strbuf_reset(&body);
	put_u32(&body, 2);
	put_packet(&script, 101, &body);
	strbuf_reset(&body);
	put_u32(&body, 3);
	put_u32(&body, 0);
	put_packet(&script, 101, &body);   /* close: OK */
	s = session(&script);
	CHECK_INT(sftp_list(s, "d", count_names, &names), SYNC_ERR_REMOTE);
	CHECK_STR(sftp_errmsg(s), "malformed sftp status");
	sftp_close(s);

	/* A listing that never ends is cut after SFTP_LIST_MAX entries. */
	strbuf_reset(&script);
	strbuf_reset(&body);
	put_u32(&body, 1);
	put_string(&body, "H", 1);
	put_packet(&script, 102, &body);
	for (id = 2, listed = 0; listed <= SFTP_LIST_MAX; id++, listed += 20000) {
		strbuf_reset(&body);
		put_u32(&body, id);
		put_u32(&body, 20000);
		for (k = 0; k < 20000; k++) {
			put_string(&body, "n", 1);
			put_string(&body, "", 0);
			put_u32(&body, 0);
		}
		put_packet(&script, 104, &body);
	}
	strbuf_reset(&body);
	put_u32(&body, id);
	put_u32(&body, 0);
	put_packet(&script, 101, &body);   /* close: OK */
	s = session(&script);
	CHECK_INT(sftp_list(s, "d", count_entries, &entries), SYNC_ERR_REMOTE);
	CHECK_STR(sftp_errmsg(s), "readdir 'd': more than 1000000 entries");
	CHECK(entries <= SFTP_LIST_MAX);
	sftp_close(s);

	/*
	 * A server that stops answering: the session's deadline ends the
	 * request before the answer's own time limit (30 s here).
	 */
	strbuf_reset(&body);
	strbuf_reset(&script);
	put_u32(&body, 3);
	put_packet(&script, 2, &body);   /* VERSION 3, then nothing */
	s = NULL;
	if (pipe(fds) == 0 && write(fds[1], script.buf, script.len) == (ssize_t)script.len) {
		int out = open("/dev/null", O_WRONLY | O_CLOEXEC);

		CHECK_INT(sftp_open_fds(out, fds[0], -1, -1, 30000, &s, err, sizeof err), SYNC_OK);
	}
	CHECK(s != NULL);
	if (s) {
		sftp_set_deadline(s, 1);
		CHECK_INT(sftp_lstat(s, "x", &a), SYNC_ERR_TIMEOUT);
		CHECK_STR(sftp_errmsg(s), "the far side did not finish in 1 s");
		sftp_close(s);
	}
	close(fds[1]);

	/*
	 * A server that stops reading: its pipe fills, and a request that does
	 * not fit is given up at the deadline instead of blocking for ever.
	 */
	s = NULL;
	{
		int in[2] = { -1, -1 }, to[2] = { -1, -1 };

		if (pipe(in) == 0 && pipe(to) == 0 &&
		    write(in[1], script.buf, script.len) == (ssize_t)script.len)
			CHECK_INT(sftp_open_fds(to[1], in[0], -1, -1, 30000, &s, err, sizeof err),
				  SYNC_OK);
		CHECK(s != NULL);
		if (s) {
			char *big = xmalloc(200000);

			memset(big, 'a', 199999);
			big[199999] = '\0';
			sftp_set_deadline(s, 1);
			CHECK_INT(sftp_lstat(s, big, &a), SYNC_ERR_TIMEOUT);
			CHECK_STR(sftp_errmsg(s), "the far side took no request in 1 s");
			free(big);
			sftp_close(s);
		}
		if (in[1] >= 0)
			close(in[1]);
		if (to[0] >= 0)
			close(to[0]);
	}

	strbuf_release(&script);
	strbuf_release(&body);
	strbuf_release(&names);
	return unit_done("test-sftp");
}
