# -m bpf (xt_bpf): a classic BPF program run over the packet from its IP header; the kernel's
# bpf_check_classic decides which programs load
*filter
:INPUT,OUTPUT
-m bpf --bytecode "1,6 0 0 1"
-m bpf --bytecode "1,6 0 0 0"
-m bpf --bytecode "4,48 0 0 9,21 0 1 6,6 0 0 1,6 0 0 0"
-m bpf --bytecode "4,48 0 0 9,21 0 1 6,6 0 0 1,6 0 0 0,"
-m bpf --bytecode "2,128 0 0 0,22 0 0 0"
-m bpf --bytecode "3,40 0 0 4294963200,21 0 1 2048,6 0 0 65535"
-m bpf --bytecode "4,40 0 0 4294963200,21 0 1 2048,6 0 0 65535,6 0 0 0"
-m bpf --bytecode "5,177 0 0 0,72 0 0 2,21 0 1 80,6 0 0 1,6 0 0 0"
-m bpf --bytecode "4,0 0 0 7,2 0 0 3,96 0 0 3,22 0 0 0"
-m bpf --bytecode "3,96 0 0 3,0 0 0 0,22 0 0 0"
-m bpf --bytecode "3,0 0 0 1,2 0 0 16,22 0 0 0"
-m bpf --bytecode "1,48 0 0 9"
-m bpf --bytecode "2,21 5 0 6,6 0 0 1"
-m bpf --bytecode "2,21 0 5 6,6 0 0 1"
-m bpf --bytecode "3,21 1 0 6,6 0 0 1,6 0 0 0"
-m bpf --bytecode "2,5 0 0 1,6 0 0 1"
-m bpf --bytecode "2,5 0 0 0,6 0 0 1"
-m bpf --bytecode "1,255 0 0 0"
-m bpf --bytecode "2,52 0 0 0,6 0 0 1"
-m bpf --bytecode "2,52 0 0 2,6 0 0 1"
-m bpf --bytecode "2,148 0 0 0,6 0 0 1"
-m bpf --bytecode "3,4 0 0 3,7 0 0 0,22 0 0 0"
-m bpf --bytecode "2,32 0 0 4294963220,22 0 0 0"
-m bpf --bytecode "2,32 0 0 4294963200,22 0 0 0"
-m bpf --bytecode "2,32 0 0 4293918720,22 0 0 0"
-m bpf --bytecode "0,"
-m bpf --bytecode "2,6 0 0 1"
-m bpf --bytecode "1,6 0 0 1,6 0 0 0"
-m bpf --bytecode "1,6 0 0"
-m bpf --bytecode "1 6 0 0 1"
-m bpf --bytecode "x,6 0 0 1"
-m bpf --bytecode "65,6 0 0 1"
-m bpf --bytecode ""
-m bpf --object-pinned /sys/fs/bpf/pynf-nonexistent
-m bpf --bytecode "1,6 0 0 1" --object-pinned /sys/fs/bpf/pynf-nonexistent
-m bpf
-m bpf --bytecode "1,6 0 0 1" --bytecode "1,6 0 0 0"
-m bpf ! --bytecode "1,6 0 0 1"
*mangle
:PREROUTING,FORWARD,POSTROUTING
-m bpf --bytecode "1,6 0 0 1"
