/* finish: rsync -a's attributes by one remote sh (see finish.h). */
#include "config.h"

#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "finish.h"

/*
 * The script, for sh -c with its arguments: FROM (empty: no rename), then
 * seven words a path: MODE TIME UID OWNER GID GROUP PATH. One line, and no
 * '!': it travels single-quoted through the remote user's login shell,
 * which may be csh. Names are looked up once each (getent; without it the
 * far side's names are unknown, so nothing is done and rsync does it).
 */
static const char finish_script[] =
	"f=$1; shift; "
	"if [ -n \"$f\" ]; then mv -f -T -- \"$f\" \"$7\" || exit 1; "
	"rmdir -- \"${f%/*}\" 2>/dev/null; fi; "
	"r=; [ \"$(id -u)\" = 0 ] && r=1; "
	"command -v getent >/dev/null || exit 1; "
	"on=; oi=; gn=; gi=; "
	"while [ $# -ge 7 ]; do "
	"m=$1; t=$2; u=$3; un=$4; g=$5; gm=$6; p=$7; shift 7; "
	"if [ -n \"$r\" ]; then "
	"if [ -n \"$un\" ] && [ \"$un\" = \"$on\" ]; then u=$oi; "
	"elif [ -n \"$un\" ]; then x=$(getent passwd \"$un\" | cut -d: -f3); "
	"[ -n \"$x\" ] && u=$x; on=$un; oi=$u; fi; "
	"chown -h -- \"$u\" \"$p\" || exit 1; fi; "
	"if [ -n \"$gm\" ] && [ \"$gm\" = \"$gn\" ]; then g=$gi; "
	"elif [ -n \"$gm\" ]; then x=$(getent group \"$gm\" | cut -d: -f3); "
	"[ -n \"$x\" ] && g=$x; gn=$gm; gi=$g; fi; "
	"chgrp -h -- \"$g\" \"$p\" 2>/dev/null || [ -z \"$r\" ] || exit 1; "
	"chmod -- \"$m\" \"$p\" && touch -h -d \"@$t\" -- \"$p\" || exit 1; "
	"done";

bool
finish_attrs_from_stat(struct finish_attrs *a, const char *remote_path, const struct stat *sb,
		       const struct finish_attrs *like)
{
	struct passwd *pw;
	struct group *gr;

	memset(a, 0, sizeof *a);
	if (sb->st_mtim.tv_sec < 0)
		return false;
	a->path = xstrdup(remote_path);
	a->mode = (unsigned)(sb->st_mode & 07777);
	a->mtime_sec = (long long)sb->st_mtim.tv_sec;
	a->mtime_nsec = sb->st_mtim.tv_nsec;
	a->uid = (unsigned long)sb->st_uid;
	a->gid = (unsigned long)sb->st_gid;
	/* rsync never maps 0 by name: root is root on both sides. */
	if (like && like->uid == a->uid)
		a->owner = like->owner ? xstrdup(like->owner) : NULL;
	else if (sb->st_uid != 0 && (pw = getpwuid(sb->st_uid)) != NULL)
		a->owner = xstrdup(pw->pw_name);
	if (like && like->gid == a->gid)
		a->group = like->group ? xstrdup(like->group) : NULL;
	else if (sb->st_gid != 0 && (gr = getgrgid(sb->st_gid)) != NULL)
		a->group = xstrdup(gr->gr_name);
	return true;
}

void
finish_attrs_release(struct finish_attrs *a)
{
	free(a->path);
	free(a->owner);
	free(a->group);
	memset(a, 0, sizeof *a);
}

void
finish_command(const char *from, const struct finish_attrs *attrs, size_t n,
	       struct strvec *words)
{
	size_t i;

	strvec_push(words, "sh");
	strvec_push(words, "-c");
	strvec_push(words, finish_script);
	strvec_push(words, "sh");
	strvec_push(words, from ? from : "");
	for (i = 0; i < n; i++) {
		const struct finish_attrs *a = &attrs[i];

		strvec_pushf(words, "%05o", a->mode);
		strvec_pushf(words, "%lld.%09ld", a->mtime_sec, a->mtime_nsec);
		strvec_pushf(words, "%lu", a->uid);
		strvec_push(words, a->owner ? a->owner : "");
		strvec_pushf(words, "%lu", a->gid);
		strvec_push(words, a->group ? a->group : "");
		strvec_push(words, a->path);
	}
}
