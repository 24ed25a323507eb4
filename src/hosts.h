/*
 * hosts: the destination hosts of one transfer to several (-a h1,h2,h3 or
 * --hosts-from FILE), each HOST or HOST:PORT. Parsing and checking only:
 * what a fan-out does with them is sup-fanout.c's.
 */
#ifndef SCOW_SYNC_HOSTS_H
#define SCOW_SYNC_HOSTS_H

#include <stddef.h>

#include "util.h"

#define HOSTS_MAX 256   /* a fan-out runs a supervisor per host */

struct host {
	char *address;   /* a host name or address, checked by validate_host */
	int port;        /* its own, or the transfer's -p */
};

struct host_list {
	struct host *v;
	size_t n;
};

#define HOST_LIST_INIT { NULL, 0 }

/*
 * Add the hosts of spec, a comma-separated list ("h1,h2:2222,[fe80::1]:22"),
 * to list; a host without a port of its own gets default_port. A bare
 * address with more than one ':' is an IPv6 address without a port.
 * 0, or -1 with a one-line message in err (an empty element, a host given
 * twice, a bad port, more than HOSTS_MAX).
 */
int hosts_parse(struct host_list *list, const char *spec, int default_port,
		char *err, size_t errlen);

/*
 * The same for FILE, one host a line; blank lines and lines beginning
 * with '#' are left out, spaces around a host too.
 */
int hosts_read_file(struct host_list *list, const char *path, int default_port,
		    char *err, size_t errlen);

/* "h1,h2:2222": the list as one string, a port written where it differs from default_port. */
void hosts_join(const struct host_list *list, int default_port, struct strbuf *out);

void hosts_release(struct host_list *list);

#endif
