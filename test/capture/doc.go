// Package capturetest holds the network-namespace integration tests of the
// live capture paths (XDP + AF_XDP, XDP counting, TC + ring buffer,
// AF_PACKET, libpcap under the libpcap tag): a known mix of frames in,
// exact kernel and net-handler counts out; TC delivering every packet while
// capturing; no program left attached after SIGKILL; interface down, up and
// deletion. Every test creates and removes its own namespaces and needs
// root; without it the tests skip and say so.
package capturetest
