# Parity: the smallest and the largest roster side by side, visited in
# turns; each round's p50 and p99 of both, at each offered rate.
#   gnuplot -e "data='parity.dat'; small='10k'; large='10M'; out='x.png'" parity.gp
# parity.dat, tab-separated: label ("RATE/s rROUND") p50_small p50_large p99_small p99_large (us)
set terminal pngcairo size 900,650 noenhanced
set datafile separator "\t"
set output out
set title "Side by side, in turns: ".large." against ".small." persons"
set xlabel "offered rate and round"
set ylabel "latency, ms (log)"
set logscale y
set grid
set key below
set xtics rotate by -30
set offsets 0.5, 0.5, 0, 0
plot data using 0:($3 / 1000):xticlabels(1) with points lc 1 pt 7 ps 1.5 title large." p50", \
     data using 0:($2 / 1000) with points lc 2 pt 5 ps 1.5 title small." p50", \
     data using 0:($5 / 1000) with points lc 1 pt 6 ps 1.5 title large." p99", \
     data using 0:($4 / 1000) with points lc 2 pt 4 ps 1.5 title small." p99"
