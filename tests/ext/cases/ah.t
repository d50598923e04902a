# -m ah: SPI ranges; needs -p ah
*filter
:INPUT,OUTPUT
-p ah -m ah --ahspi 500
-p ah -m ah --ahspi 1:2
-p ah -m ah --ahspi 10:
-p ah -m ah --ahspi :10
-p ah -m ah --ahspi :
-p ah -m ah ! --ahspi 5
-p ah -m ah ! --ahspi 0:4294967295
-p ah -m ah --ahspi 0x100
-p ah -m ah --ahspi 010
-p ah -m ah --ahspi 4294967295
-p ah -m ah --ahspi 4294967296
-p ah -m ah --ahspi 5:3
-p ah -m ah --ahspi 5:5
-p ah -m ah --ahspi 1:2:3
-p ah -m ah --ahspi abc
-p ah -m ah --ahspi -1
-p ah -m ah
-p ah -m ah --ahspi 1 --ahspi 2
-p ah --ahspi 7
-m ah --ahspi 5
-p esp -m ah --ahspi 5
-p 51 -m ah --ahspi 5
:USER1
-m ah --ahspi 5
