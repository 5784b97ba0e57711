//  test_netns: network namespaces for partition tests (test_netns.sh does the work): a hub
//  for the PBX's network, which this process enters, and one namespace per node with a wire
//  to the PBX network and a wire to the cluster bus.  A test cuts and heals a node's bus
//  wire while every node keeps reaching pbxsim.
//
//      if (test_netns_check() != 0) return 77;        //  CTest: skipped, reason printed
//      test_netns_t net;
//      test_netns_up(&net, 3);       //  this process now runs in the hub
//      ... pbxsim --listen 10.77.0.1:0; node i: `ip netns exec NAME-nI ctimd ...`
//      test_netns_cut(&net, 0); ... test_netns_heal(&net, 0);
//      test_netns_down(&net);        //  back in the old namespace, everything removed
//
//  Names are unique per run (ctimt-PID-COUNTER); a run killed before its teardown is
//  cleaned up by the next run's up.  Nothing here asserts.
#ifndef TEST_NETNS_H
#define TEST_NETNS_H

#include <stdbool.h>
#include <stddef.h>

#define TEST_NETNS_NODES_MAX 9
#define TEST_NETNS_PBX_HOST "10.77.0.1"     //  the hub on the PBX network

typedef struct {
    char name[48];                  //  ctimt-PID-N; "" when down
    int nodes;
    int home_fd;                    //  the namespace this process came from, -1 when down
} test_netns_t;

//  0 when this machine can do it; 77 otherwise (the reason printed).
int test_netns_check(void);
//  Make the hub and `nodes` node namespaces and move this process into the hub.  Returns
//  0, or -1 (nothing left behind).  Children started afterwards run in the hub.
int test_netns_up(test_netns_t *net, int nodes);
//  Back to the namespace this process came from; kill whatever still runs in the
//  namespaces and delete them.  Safe twice and on a net that never came up.
void test_netns_down(test_netns_t *net);
//  Node i loses / regains its wire to the cluster bus.  Returns 0 or -1.
int test_netns_cut(test_netns_t *net, int node);
int test_netns_heal(test_netns_t *net, int node);

//  Node i's namespace name, its address on the PBX network (HTTP, reachable from the hub)
//  and on the cluster bus.
void test_netns_node(const test_netns_t *net, int node, char *ns, size_t ns_cap);
void test_netns_pbx_addr(int node, char *out, size_t cap);
void test_netns_bus_addr(int node, char *out, size_t cap);
//  The path of ip(8), for `ip netns exec NS PROGRAM ...` argument lists; NULL if none.
const char *test_netns_ip(void);

#endif
