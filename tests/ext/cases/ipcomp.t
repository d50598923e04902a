# -m ipcomp (xt_ipcomp): the compression parameter index of IPComp; needs -p ipcomp (108)
*filter
:INPUT,OUTPUT
-p ipcomp -m ipcomp --ipcompspi 500
-p ipcomp -m ipcomp --ipcompspi 1:2
-p ipcomp -m ipcomp --ipcompspi 10:
-p ipcomp -m ipcomp --ipcompspi :10
-p ipcomp -m ipcomp --ipcompspi :
-p ipcomp -m ipcomp ! --ipcompspi 5
-p ipcomp -m ipcomp ! --ipcompspi 0:4294967295
-p ipcomp -m ipcomp --ipcompspi 0x100
-p ipcomp -m ipcomp --ipcompspi 4294967295
-p ipcomp -m ipcomp --ipcompspi 4294967296
-p ipcomp -m ipcomp --ipcompspi 5:3
-p ipcomp -m ipcomp --ipcompspi 5:5
-p ipcomp -m ipcomp --ipcompspi 70000
-p ipcomp -m ipcomp --ipcompspi abc
-p ipcomp -m ipcomp --compres
-p ipcomp -m ipcomp --ipcompspi 7 --compres
-p ipcomp -m ipcomp ! --compres
-p ipcomp -m ipcomp
-p ipcomp -m ipcomp --ipcompspi 1 --ipcompspi 2
-p ipcomp -m ipcomp --ipcompspi ! 5
-p 108 -m ipcomp --ipcompspi 5
-m ipcomp --ipcompspi 5
-p esp -m ipcomp --ipcompspi 5
! -p ipcomp -m ipcomp --ipcompspi 5
*raw
:PREROUTING,OUTPUT
-p ipcomp -m ipcomp --ipcompspi 9 -j ACCEPT
