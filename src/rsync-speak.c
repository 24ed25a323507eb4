/* rsync-speak: the helpers' output, as rsync's (rsync-speak.h). */
#include "config.h"

#include <errno.h>
#include <unistd.h>
#include <string.h>

#include "rsync-speak.h"
#include "util.h"

void
speak_escaped(FILE *f, const char *name)
{
	const unsigned char *p;

	for (p = (const unsigned char *)name; *p; p++) {
		if (*p < 0x20 || *p == 0x7f || *p == '\\')
			fprintf(f, "\\#%03o", *p);
		else
			fputc(*p, f);
	}
}

void
speak_text(FILE *f, const char *text)
{
	const unsigned char *p;

	for (p = (const unsigned char *)text; *p; p++)
		fputc(*p < 0x20 || *p == 0x7f ? '?' : *p, f);
}

void
speak_name(const char *itemized, const char *rel, bool dir)
{
	printf("//%s ", itemized);
	speak_escaped(stdout, rel);
	printf("%s\n", dir ? "/" : "");
	fflush(stdout);
}

void
speak_progress(const struct speak_file *cur, uint64_t done, bool final)
{
	double took = now_monotonic() - cur->started;
	double rate = took > 0 ? (double)done / took : 0;
	long long eta = 0;
	int pct = cur->size ? (int)(done * 100 / cur->size) : 100;
	const char *unit = "B/s";
	struct strbuf num = STRBUF_INIT;
	char digits[32];
	size_t n, k;

	if (rate > 0 && done < cur->size)
		eta = (long long)((double)(cur->size - done) / rate);
	if (rate >= 1024.0 * 1024 * 1024) {
		rate /= 1024.0 * 1024 * 1024;
		unit = "GB/s";
	} else if (rate >= 1024.0 * 1024) {
		rate /= 1024.0 * 1024;
		unit = "MB/s";
	} else if (rate >= 1024.0) {
		rate /= 1024.0;
		unit = "kB/s";
	}
	/* rsync's thousands separators. */
	snprintf(digits, sizeof digits, "%llu", (unsigned long long)done);
	n = strlen(digits);
	for (k = 0; k < n; k++) {
		if (k > 0 && (n - k) % 3 == 0)
			strbuf_addch(&num, ',');
		strbuf_addch(&num, digits[k]);
	}
	printf("\r%15s %3d%% %7.2f%s %lld:%02lld:%02lld", num.buf, pct > 100 ? 100 : pct, rate,
	       unit, eta / 3600, eta / 60 % 60, eta % 60);
	if (final)
		printf(" (xfr#%llu, to-chk=0/%llu)\n", (unsigned long long)cur->xfr,
		       (unsigned long long)cur->xfr);
	fflush(stdout);
	strbuf_release(&num);
}

bool
speak_problem(const char *rel, const char *cause, int err)
{
	return speak_problem_as(false, rel, cause, err);
}

bool
speak_problem_as(bool written, const char *rel, const char *cause, int err)
{
	if (err == ENOENT) {
		fputs("file has vanished: \"", stderr);
		speak_escaped(stderr, rel);
		fputs("\"\n", stderr);
		return true;
	}
	/* The one form of a file's problem the supervisor reads (rsync_file_problem). */
	fprintf(stderr, "rsync: [sender] %s \"", written ? "cannot write" :
		"send_files failed to open");
	speak_escaped(stderr, rel);
	fputs("\": ", stderr);
	speak_text(stderr, cause);
	fprintf(stderr, " (%d)\n", err);
	return false;
}

void
speak_failure(const char *rel, const char *reason)
{
	fputs("scow-sync: '", stderr);
	speak_escaped(stderr, rel);
	fputs("': ", stderr);
	speak_text(stderr, reason);
	fputc('\n', stderr);
}

int
speak_read_list(int fd, struct strvec *sv)
{
	struct strbuf all = STRBUF_INIT;
	char buf[65536];
	size_t start = 0, k;
	ssize_t n;

	while ((n = read(fd, buf, sizeof buf)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			strbuf_release(&all);
			return -1;
		}
		strbuf_add(&all, buf, (size_t)n);
	}
	for (k = 0; k < all.len; k++) {
		if (all.buf[k] == '\0') {
			if (k > start)
				strvec_push(sv, all.buf + start);
			start = k + 1;
		}
	}
	strbuf_release(&all);
	return 0;
}
