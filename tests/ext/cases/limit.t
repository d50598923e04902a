# -m limit: token bucket, rate stored as 1/10000 s units per packet
*filter
:INPUT,OUTPUT,USER1
-m limit
-m limit --limit 5/s
*filter
:INPUT
-m limit --limit 300/min
-m limit --limit 3/hour
-m limit --limit 10/day
-m limit --limit 7/sec --limit-burst 10
-m limit --limit 1/m
-m limit --limit 2/h --limit-burst 0x20
-m limit --limit 0/s
-m limit --limit 10001/s
-m limit --limit 10000/s
-m limit --limit 5/week
-m limit --limit 5
-m limit --limit x/s
-m limit --limit 5/
-m limit --limit-burst 0
-m limit --limit-burst 10001
-m limit --limit-burst 10000
-m limit ! --limit 5/s
-m limit --limit 1/day --limit-burst 5
-m limit --limit 1/se
-m limit --lim 4/s
-m limit --limit 100/min
-m limit --limit 7/min
-m limit --limit 13/hour
-m limit --limit 5/s --limit 6/s
-m limit --limit 010/s
-m limit --limit 3/minute --limit-burst 010
