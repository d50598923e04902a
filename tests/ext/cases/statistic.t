# -m statistic: random and nth
*filter
:INPUT,OUTPUT,USER1
-m statistic --mode random --probability 0.3333333333
*filter
:INPUT
-m statistic --mode random --probability 0.5
-m statistic --mode random --probability 1
-m statistic --mode random --probability 0
-m statistic --mode random --probability 1.5
-m statistic --mode random --probability -0.1
-m statistic --mode random --probability abc
-m statistic --mode random ! --probability 0.25
-m statistic --mode nth --every 3
-m statistic --mode nth --every 3 --packet 1
-m statistic --mode nth --every 3 --packet 3
-m statistic --mode nth ! --every 2 --packet 0
-m statistic --mode nth --every 0
-m statistic --mode random
-m statistic --mode nth
-m statistic --mode random --every 3
-m statistic --mode nth --probability 0.5
-m statistic --mode bogus
-m statistic --probability 0.5
-m statistic --mode random --probability 0.00000000001
-m statistic --mode nth --every 0x10 --packet 010
-m statistic --mode random --probability 1e-1
-m statistic --mode random --probability .1
-m statistic --mode nth --packet 1
-m statistic --mode random --probability 0.9999999999
