# CPU microseconds a request against the offered rate: the engine's (every
# thread: loop, writer, sync) and the generator's, one pair of lines per
# series (roster sizes, and tls_echo: the same loop and frames, no ledger).
#   gnuplot -e "files='a.dat b.dat'; titles='10k tls_echo'; out='x.png'" cpu-vs-rate.gp
# Each .dat: offered_per_s p50_us p99_us p999_us batch_mean achieved_per_s
#            engine_cpu_us_per_request generator_cpu_us_per_request (NaN: unknown)
set terminal pngcairo size 900,600 noenhanced
set output out
set title "CPU a request (two cores, engine and generator side by side)"
set xlabel "offered requests/s (log)"
set ylabel "CPU us a request"
set grid
set logscale x
set key right top
set format x "%.0s%c"
set datafile missing "NaN"
n = words(files)
plot for [i=1:n] word(files, i) using 1:7 with linespoints lc i pt 7 title word(titles, i)." engine", \
     for [i=1:n] word(files, i) using 1:8 with linespoints lc i pt 6 dt 2 title word(titles, i)." generator"
