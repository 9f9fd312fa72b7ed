# The engine's mean group-commit batch (writes per durable commit) against
# the offered rate, one line per roster size.
#   gnuplot -e "files='a.dat'; titles='10k'; out='x.png'" batch-vs-rate.gp
# Each .dat: offered_per_s p50_us p99_us p999_us batch_mean achieved_per_s
set terminal pngcairo size 900,600 noenhanced
set output out
set title "Group commit: mean writes per durable commit against the offered rate"
set xlabel "offered requests/s (log)"
set ylabel "writes per commit (mean)"
set grid
set logscale x
set key left top
set format x "%.0s%c"
n = words(files)
plot for [i=1:n] word(files, i) using 1:5 with linespoints lc i pt 7 title word(titles, i)
