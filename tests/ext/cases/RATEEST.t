# -j RATEEST (xt_RATEEST): a named rate estimator; name, interval and ewmalog all mandatory
*mangle
:PREROUTING,INPUT,FORWARD,OUTPUT,POSTROUTING,USER1
-j RATEEST --rateest-name pynfB1 --rateest-interval 250ms --rateest-ewmalog 500ms
*filter
:INPUT,FORWARD,OUTPUT
-j RATEEST --rateest-name pynfB2 --rateest-interval 1s --rateest-ewmalog 8s
*raw
:PREROUTING
-j RATEEST --rateest-name pynfB3 --rateest-interval 1s --rateest-ewmalog 8s
*nat
:POSTROUTING
-j RATEEST --rateest-name pynfB3 --rateest-interval 1s --rateest-ewmalog 8s
*filter
:FORWARD
-j RATEEST --rateest-name a --rateest-interval 1 --rateest-ewmalog 1
-j RATEEST --rateest-name a --rateest-interval 1000000 --rateest-ewmalog 8000000
-j RATEEST --rateest-name a --rateest-interval 0.25s --rateest-ewmalog 1s
-j RATEEST --rateest-name a --rateest-interval 0 --rateest-ewmalog 1s
-j RATEEST --rateest-name a --rateest-interval 100ms --rateest-ewmalog 1s
-j RATEEST --rateest-name a --rateest-interval 500ms --rateest-ewmalog 1s
-j RATEEST --rateest-name a --rateest-interval 2s --rateest-ewmalog 16s
-j RATEEST --rateest-name a --rateest-interval 4s --rateest-ewmalog 60s
-j RATEEST --rateest-name a --rateest-interval 8s --rateest-ewmalog 60s
-j RATEEST --rateest-name a --rateest-interval 9s --rateest-ewmalog 60s
-j RATEEST --rateest-name a --rateest-interval 1s --rateest-ewmalog 1s
-j RATEEST --rateest-name a --rateest-interval 1s --rateest-ewmalog 2s
-j RATEEST --rateest-name a --rateest-interval 1s --rateest-ewmalog 1000s
-j RATEEST --rateest-name a --rateest-interval 1s --rateest-ewmalog 10000000s
-j RATEEST --rateest-name a --rateest-interval 1s --rateest-ewmalog 500us
-j RATEEST --rateest-name a --rateest-interval 250000us --rateest-ewmalog 3SECS
-j RATEEST --rateest-name a --rateest-interval 1msec --rateest-ewmalog 1s
-j RATEEST --rateest-name a --rateest-interval 1x --rateest-ewmalog 1s
-j RATEEST --rateest-name a --rateest-interval 1s --rateest-ewmalog bogus
-j RATEEST --rateest-name a --rateest-interval -1s --rateest-ewmalog 1s
-j RATEEST --rateest-name a --rateest-interval 1e6 --rateest-ewmalog 8e6
-j RATEEST --rateest-name abcdefghijklmno --rateest-interval 1s --rateest-ewmalog 8s
-j RATEEST --rateest-name abcdefghijklmnop --rateest-interval 1s --rateest-ewmalog 8s
-j RATEEST --rateest-name "" --rateest-interval 1s --rateest-ewmalog 8s
-j RATEEST --rateest-interval 1s --rateest-ewmalog 8s
-j RATEEST --rateest-name a --rateest-ewmalog 8s
-j RATEEST --rateest-name a --rateest-interval 1s
-j RATEEST
-j RATEEST --rateest-name a --rateest-name b --rateest-interval 1s --rateest-ewmalog 8s
-j RATEEST ! --rateest-name a --rateest-interval 1s --rateest-ewmalog 8s
