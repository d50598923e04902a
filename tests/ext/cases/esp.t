# -m esp: SPI ranges; needs -p esp
*filter
:INPUT,OUTPUT
-p esp -m esp --espspi 500
-p esp -m esp --espspi 1:2
-p esp -m esp --espspi 10:
-p esp -m esp --espspi :10
-p esp -m esp --espspi :
-p esp -m esp ! --espspi 5
-p esp -m esp ! --espspi 0:4294967295
-p esp -m esp --espspi 0x100
-p esp -m esp --espspi 010
-p esp -m esp --espspi 4294967295
-p esp -m esp --espspi 4294967296
-p esp -m esp --espspi 5:3
-p esp -m esp --espspi 5:5
-p esp -m esp --espspi 1:2:3
-p esp -m esp --espspi abc
-p esp -m esp --espspi -1
-p esp -m esp
-p esp -m esp --espspi 1 --espspi 2
-p esp --espspi 7
-m esp --espspi 5
-p ah -m esp --espspi 5
-p 50 -m esp --espspi 5
:USER1
-m esp --espspi 5
