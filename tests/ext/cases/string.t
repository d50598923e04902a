# -m string: payload search (revision 1)
*filter
:INPUT,OUTPUT,USER1
-m string --string foo --algo bm
*filter
:INPUT
-m string --string foo --algo kmp
-m string --string foo
-m string --algo bm
-m string --string foo --algo xx
-m string ! --string foo --algo bm
-m string --string "hello world" --algo bm
-m string --string 'a"b' --algo bm
-m string --string 'a\b' --algo bm
-m string --hex-string '|41 42|c' --algo bm
-m string --hex-string '|00 01 ff|' --algo bm
-m string --hex-string 'ab|0d0a|' --algo kmp
-m string ! --hex-string '|7c|' --algo kmp
-m string --hex-string '|4|' --algo bm
-m string --hex-string '|zz|' --algo bm
-m string --hex-string 'a|41' --algo bm
-m string --hex-string 'a\|b' --algo bm
-m string --string foo --algo bm --from 10 --to 100
-m string --string foo --algo bm --from 100 --to 10
-m string --string foo --algo bm --to 65535
-m string --string foo --algo bm --to 65536
-m string --string foo --algo bm --from 0x10
-m string --string foo --algo bm --icase
-m string --string "" --algo bm
-m string --string aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa --algo bm
-m string --string aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa --algo bm
-m string --string foo --string bar --algo bm
-m string --string foo --hex-string '|41|' --algo bm
-m string --string "tab	x" --algo bm
-m string --hex-string '|00000000|' --algo fsm
-m string --hex-string '|01000500 02000100|' --algo fsm
-m string --string abc --algo fsm
-m string --hex-string '|00000000|' --algo fsm --icase
-m string --string foo --algo abcdefghijklmnopqrst
-m string --string foo --algo BM
-m string --hex-string '\\\\' --algo bm
-m string --string foo --algo bm --to 0
-m string --hex-string '|01000100|' --algo fsm
-m string --hex-string '|00000500 00000100|' --algo fsm
-m string --hex-string '|0d000100|' --algo fsm
-m string --hex-string '|0e000100|' --algo fsm
-m string --hex-string '|00000400 00000000|' --algo fsm
