# -m time: time of day, week and month days, dates (revision 0)
*filter
:INPUT,OUTPUT,USER1
-m time --timestart 08:00 --timestop 17:00
*filter
:INPUT
-m time --timestart 08:00:30
-m time --timestart 24:00
-m time --timestart 23:59:59
-m time --timestart 8:5
-m time --timestop 17:00 --contiguous
-m time --weekdays Mon,Tue,Wed
-m time --weekdays 1,2,7
-m time --weekdays Sun,Sat
-m time ! --weekdays Mon
-m time --weekdays Mon,Mon
-m time --weekdays Foo
-m time --weekdays 8
-m time --monthdays 1,15,31
-m time ! --monthdays 1
-m time --monthdays 32
-m time --monthdays 0
-m time --datestart 2024-01-01 --datestop 2024-12-31T23:59:59
-m time --datestart 2024-01-01T12
-m time --datestart 1969-01-01
-m time --datestart 2040-01-01
-m time --datestop 2038-01-19T03:14:07
-m time --datestart 2024-13-01
-m time --datestart 2024
-m time --kerneltz
-m time --localtz
-m time --utc
-m time --contiguous
-m time
-m time --timestart 10:00 --timestop 08:00
-m time --timestart 10:00 --timestop 08:00 --contiguous
-m time ! --timestart 08:00
-m time --timestart 08:00 --timestop 09:00 --weekdays Fri --monthdays 13 --kerneltz
-m time --datestart 2024-02-31 --datestop 2038-12-31
-m time --datestart 1970-01-01
-m time --datestart 2024-00-10
-m time --datestart 2024-
-m time --monthdays 1,,2
-m time --monthdays 100
-m time --weekdays Mo,Tuesday,Fr
-m time --weekdays mon
-m time --weekdays 0
-m time --localtz --utc
-m time --timestart 07:60
-m time --timestart 7
