/* Unit tests for farlock: reading what ssh -G says of a host. */
#include "config.h"

#include <stdbool.h>
#include <string.h>

#include "farlock.h"
#include "store.h"
#include "util.h"
#include "unit.h"

/* ssh -G's lines as OpenSSH prints them: hostname, port and user, proxies. */
static void
test_parse(void)
{
	struct strbuf host = STRBUF_INIT, port = STRBUF_INIT, user = STRBUF_INIT;
	bool proxied = true;

	CHECK_INT(far_host_parse("host hpc2\nuser alice\nhostname login.hpc2.example.org\n"
				 "port 2222\nhostbasedauthentication no\nproxyusefdpass no\n",
				 &host, &port, &user, &proxied), SYNC_OK);
	CHECK_STR(host.buf, "login.hpc2.example.org");
	CHECK_STR(port.buf, "2222");
	CHECK_STR(user.buf, "alice");
	CHECK(!proxied);
	strbuf_reset(&host);
	strbuf_reset(&port);
	strbuf_reset(&user);
	CHECK_INT(far_host_parse("user bob\nhostname node7\nport 22\nproxyjump gate\n",
				 &host, &port, &user, &proxied), SYNC_OK);
	CHECK(proxied);
	strbuf_reset(&host);
	strbuf_reset(&port);
	strbuf_reset(&user);
	CHECK_INT(far_host_parse("user bob\nhostname node7\nport 22\nproxycommand none\n",
				 &host, &port, &user, &proxied), SYNC_OK);
	CHECK(!proxied);
	strbuf_reset(&host);
	strbuf_reset(&port);
	strbuf_reset(&user);
	/* Without a host name there is nothing to compare: go by the spelling. */
	CHECK_INT(far_host_parse("user bob\nport 22\n", &host, &port, &user, &proxied),
		  SYNC_ERR_INVALID);
	strbuf_release(&host);
	strbuf_release(&port);
	strbuf_release(&user);
}

/* File systems several hosts share get a rollback journal, local ones WAL. */
static void
test_shared_fs(void)
{
	CHECK(store_fs_shared(0x6969));             /* NFS */
	CHECK(store_fs_shared(0x0BD00BD0));         /* Lustre */
	CHECK(store_fs_shared(0x47504653));         /* GPFS */
	CHECK(store_fs_shared((long)(int)0xFF534D42)); /* CIFS, negative in a signed f_type */
	CHECK(!store_fs_shared(0xEF53));            /* ext4 */
	CHECK(!store_fs_shared(0x58465342));        /* XFS */
	CHECK(!store_fs_shared(0x01021994));        /* tmpfs */
}

int
main(void)
{
	test_parse();
	test_shared_fs();
	return unit_done("test-farlock");
}
