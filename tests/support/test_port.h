//  test_port: TCP ports for the processes a test starts (pbxsim, ctimd, a cluster bus), safe
//  while other tests run in parallel.
//
//  "Bind port 0, read it, close" races: until the process the test starts binds the port,
//  another test may pick the same one, and any outgoing connection may take it as its
//  source port (the kernel draws both from ip_local_port_range, 32768-60999 by default).
//  So a port here comes from OUTSIDE the ephemeral range (20000 up to just below it), is
//  not bound by anyone right now, and is reserved across processes: an flock'd lock file
//  per port in TEST_PORT_DIR (CTIM_TEST_PORT_DIR overrides it) that this process holds
//  until it exits (the kernel drops the lock then, also on a crash or kill -9).  Shell
//  tests take the same locks with tests/support/test_port.sh, deploy/demo.sh too.
//
//  Where a process can listen on port 0 and print the port (pbxsim --listen HOST:0,
//  client_api port 0), prefer that: it cannot collide at all.
#ifndef TEST_PORT_H
#define TEST_PORT_H

#define TEST_PORT_DIR "/tmp/ctim-test-ports"

//  A port reserved for this process until it exits, or -1 when none is left.  Never one
//  this process already holds.
int test_free_port(void);

//  The range test_free_port draws from: [*lo, *hi], below the ephemeral range (or above
//  it, where the ephemeral range starts too low to leave room below).
void test_port_range(int *lo, int *hi);

//  test_free_port's work with the lock folder and range given (tests of the allocator).
//  Scanning starts at a random port of the range.  Returns the port, or -1.
int test_port_take(const char *dir, int lo, int hi);

#endif
