package bpf

// The generated *_bpfel.go and *_bpfel.o files are committed, so building the
// module needs no clang; run `go generate ./bpf` after editing any C file.

//go:generate go tool bpf2go -cc clang -target bpfel -type counters -type config -type meta -type lpm_v4_key -type lpm_v6_key xdp xdp.c -- -O2 -g -Wall -Werror -I/usr/include/x86_64-linux-gnu -I/usr/include/aarch64-linux-gnu
//go:generate go tool bpf2go -cc clang -target bpfel -type counters -type config -type meta -type pkt_hdr -type lpm_v4_key -type lpm_v6_key tc tc.c -- -O2 -g -Wall -Werror -I/usr/include/x86_64-linux-gnu -I/usr/include/aarch64-linux-gnu
//go:generate go tool bpf2go -cc clang -target bpfel xdpdrop xdpdrop.c -- -O2 -g -Wall -Werror -I/usr/include/x86_64-linux-gnu -I/usr/include/aarch64-linux-gnu
