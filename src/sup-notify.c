/*
 * sup-notify: a transfer's records to the receiver it names (--notify,
 * --notify-cmd): on every change of its state, and after each cycle of a
 * watch. The notifier (notify.h) delivers them in a child process of its
 * own, so a slow or dead receiver never holds the transfer up.
 */
#include "config.h"

#include "log.h"
#include "notify.h"
#include "report.h"
#include "sup-internal.h"

#define NOTIFY_END_WAIT_MS 15000   /* at the end, for the last records to go out */

struct notifier *
notify_for_transfer(const struct transfer *t, const struct supervisor_config *cfg)
{
	struct notify_config nc = { t->notify_url, t->notify_cmd, cfg->notify_secret, 0 };
	struct notifier *n = NULL;
	char err[512];

	if (t->notify_url == NULL && t->notify_cmd == NULL)
		return NULL;
	if (notify_start(&n, &nc, err, sizeof err) < 0) {
		/* Never a reason to stop the transfer. */
		log_warn("cannot notify: %s", err);
		return NULL;
	}
	return n;
}

void
notify_transfer(struct notifier *n, struct store *st, int64_t id, const char *event)
{
	struct strbuf body = STRBUF_INIT;

	if (n == NULL)
		return;
	if (report_transfer_json(st, id, &body) < 0)
		log_warn("cannot notify '%s': the record cannot be read: %s", event,
			 store_errmsg(st));
	else
		notify_post(n, event, body.buf, body.len);
	strbuf_release(&body);
}

void
notify_end(struct notifier *n)
{
	notify_finish(n, NOTIFY_END_WAIT_MS);
}
