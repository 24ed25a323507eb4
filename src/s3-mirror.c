/* s3-mirror: the objects a mirror to a bucket removes (s3-mirror.h). */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "filter.h"
#include "s3-list.h"
#include "s3-mirror.h"

bool
s3_mirror_rel(const struct s3_mirror_scope *sc, const char *key, struct strbuf *out,
	      bool *marker)
{
	struct strbuf base = STRBUF_INIT;
	size_t kl = strlen(key);
	bool under;

	s3_key(sc->target, "", &base);
	under = strncmp(key, base.buf, base.len) == 0 && kl > base.len;
	if (under) {
		*marker = key[kl - 1] == '/';
		strbuf_add(out, key + base.len, kl - base.len - (*marker ? 1 : 0));
	}
	strbuf_release(&base);
	return under;
}

bool
s3_mirror_keeps(const struct s3_mirror_scope *sc, const char *rel, bool marker)
{
	size_t tl = strlen(sc->source_rel), k;
	struct strbuf path = STRBUF_INIT, sub = STRBUF_INIT;
	const char *below, *p;
	struct stat sb;
	bool keep;

	for (k = 0; sc->stopped && k < sc->stopped->nr; k++)
		if (path_is_within(rel, sc->stopped->v[k]))
			return true;
	/* Beside the source's own key: not the mirror's to look at. */
	if (strncmp(rel, sc->source_rel, tl) != 0 || (rel[tl] != '/' && rel[tl] != '\0'))
		return true;
	below = rel[tl] == '/' ? rel + tl + 1 : rel + tl;
	if (*below == '\0')
		return marker;
	for (p = below;;) {
		size_t n = strcspn(p, "/");
		bool filtered;

		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.')) {
			strbuf_release(&sub);
			return false;
		}
		strbuf_reset(&sub);
		strbuf_add(&sub, below, (size_t)(p - below) + n);
		filtered = filter_excluded(sc->filter, sub.buf, p[n] == '/' || marker);
		if (filtered || p[n] == '\0') {
			if (filtered) {
				strbuf_release(&sub);
				return true;
			}
			break;
		}
		p += n + 1;
	}
	/*
	 * Each directory above it a directory in the source, not a link to
	 * one: the upload never follows links, so nothing of it is below one.
	 */
	strbuf_addstr(&path, sc->source_root);
	keep = true;
	for (p = rel; keep;) {
		size_t n = strcspn(p, "/");

		strbuf_addch(&path, '/');
		strbuf_add(&path, p, n);
		if (lstat(path.buf, &sb) < 0) {
			keep = errno != ENOENT && errno != ENOTDIR;
			break;
		}
		if (p[n] == '\0') {
			keep = marker ? S_ISDIR(sb.st_mode) : !S_ISDIR(sb.st_mode);
			break;
		}
		keep = S_ISDIR(sb.st_mode);
		p += n + 1;
	}
	strbuf_release(&path);
	strbuf_release(&sub);
	return keep;
}

struct s3_mirror_walk {
	const struct s3_mirror_scope *sc;
	const char *prefix;            /* the key of the path listed */
	size_t prefix_len;
	struct strvec *keys;
	struct strbuf rel;
};

static int
s3_mirror_object(const struct s3_object *o, void *ctx)
{
	struct s3_mirror_walk *w = ctx;
	const char *key = o->key;
	bool marker;

	/* At or below the path: "a/b" is not below "a/bc". */
	if (key[w->prefix_len] != '\0' && key[w->prefix_len] != '/')
		return 0;
	strbuf_reset(&w->rel);
	if (s3_mirror_rel(w->sc, key, &w->rel, &marker) &&
	    !s3_mirror_keeps(w->sc, w->rel.buf, marker))
		strvec_push(w->keys, key);
	return 0;
}

int
s3_mirror_extra(struct s3_client *cl, const struct s3_mirror_scope *sc, const char *rel,
		struct strvec *keys, struct strbuf *why)
{
	struct strbuf prefix = STRBUF_INIT;
	struct s3_mirror_walk w = { sc, NULL, 0, keys, STRBUF_INIT };
	int rc;

	s3_key(sc->target, rel, &prefix);
	w.prefix = prefix.buf;
	w.prefix_len = prefix.len;
	rc = s3_list_prefix(cl, prefix.buf, s3_mirror_object, &w, why);
	strbuf_release(&w.rel);
	strbuf_release(&prefix);
	return rc;
}
