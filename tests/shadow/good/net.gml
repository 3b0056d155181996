graph [
  directed 1
  label "two sites"
  node [
    id 0
    label "a"
    host_bandwidth_down "100 Mbit"
    host_bandwidth_up "100 Mbit"
  ]
  node [
    id 7
  ]
  edge [
    source 0
    target 0
    latency "1 ms"
    packet_loss 0.0
  ]
  edge [
    source 7
    target 7
    latency "1 ms"
    packet_loss 0.0
  ]
  edge [
    source 0
    target 7
    latency "50 ms"
    jitter "0 ms"
    packet_loss 0.01
  ]
  edge [
    source 7
    target 0
    latency "50000 us"
    packet_loss 1e-3
  ]
]
