# Latency percentiles against the offered rate: one colour per series (a
# roster size of sanhe, or tls_echo), one dash type per percentile.
#   gnuplot -e "files='a.dat b.dat'; titles='10k tls_echo'; out='x.png'" latency-vs-rate.gp
# Each .dat: offered_per_s p50_us p99_us p999_us batch_mean achieved_per_s
set terminal pngcairo size 1100,700 noenhanced
set output out
set title "Latency from the scheduled send (open loop) against the offered rate"
set xlabel "offered requests/s (log)"
set ylabel "latency, ms (log)"
set logscale y
set grid
set logscale x
set key outside right top
set format x "%.0s%c"
n = words(files)
plot for [i=1:n] word(files, i) using 1:($2/1000) with linespoints lc i dt 1 pt 7 \
         title word(titles, i)." p50", \
     for [i=1:n] word(files, i) using 1:($3/1000) with linespoints lc i dt 2 pt 5 \
         title word(titles, i)." p99", \
     for [i=1:n] word(files, i) using 1:($4/1000) with linespoints lc i dt 3 pt 9 \
         title word(titles, i)." p99.9"
