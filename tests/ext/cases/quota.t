# -m quota: a byte budget
*filter
:INPUT,OUTPUT,USER1
-m quota --quota 1000
*filter
:INPUT
-m quota ! --quota 1000
-m quota --quota 0
-m quota --quota 0x100
-m quota --quota 010
-m quota --quota 18446744073709551615
-m quota --quota 18446744073709551616
-m quota --quota -1
-m quota
-m quota --quota abc
-m quota --quota 5 --quota 6
-m quota --quo 77
-m quota --quota 1k
