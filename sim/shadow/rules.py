"""The rules and the typed fields of a Shadow 3.x config (`src/main/core/configuration.rs`), as
data for `sim.shadow.check`. A field's kind is a unit kind, a scalar kind or a tuple of allowed
values."""
from __future__ import annotations

__all__ = ["RULES", "GENERAL", "EXPERIMENTAL", "HOST_OPTIONS", "HOST_KEYS", "PROCESS_KEYS", "SIGNALS",
           "LOG_LEVELS", "TIME", "TIME_NULL", "BITS", "BYTES", "U32", "I32", "BOOL", "STRING", "STRING_NULL",
           "FLOAT", "SCALAR_OK", "WORDS", "is_int"]

RULES = {
    "yaml": "the file parses as one YAML document: no duplicate keys, tags or recursive aliases",
    "unknown key": "only the keys Shadow knows (serde deny_unknown_fields); top-level x- keys are ignored",
    "missing key": "required keys are present (general.stop_time, network.graph, hosts.*.network_node_id, …)",
    "type": "each value has Shadow's type (strings quoted, integers in range, booleans true/false)",
    "host name": "host names use lowercase a-z, 0-9, '-' and '.', do not start with '-', <= 253 chars",
    "units": "times and bandwidths are an integer plus a case-sensitive unit (1500 ms, 100 Mbit)",
    "time order": "start_time < shutdown_time < general.stop_time for every process",
    "ip address": "ip_addr is IPv4, unique, and not 0.0.0.0, loopback, multicast or broadcast",
    "node id": "every host's network_node_id is a node of the graph",
    "bandwidth": "every host gets down and up bandwidth from its node or its own settings",
    "path": "process paths are absolute",
    "args": "args are a list of strings or a string that splits like a shell",
    "environment": "environment maps names (no '=') to quoted strings",
    "signal": "signals are names like SIGTERM or numbers 1-31",
    "final state": "expected_final_state is {exited: N}, {signaled: SIG} or running, and can happen",
    "data directory": "general.data_directory does not exist yet",
    "graph": "network.graph is {type: 1_gbit_switch} or {type: gml, inline | file: {path, compression}}",
    "gml": "the GML parses as Shadow's parser reads it: ids, sources, targets, latency (non-zero)",
    "gml float": "packet_loss is a float in [0, 1] (0.0, not 0)",
    "self-loop": "every node that hosts use has a self-loop edge",
    "duplicate edge": "no two edges join the same pair of nodes",
    "connectivity": "the nodes hosts use are connected",
    "complete graph": "with use_shortest_path: false every pair of used nodes has an edge",
}

TIME, TIME_NULL, BITS, BYTES = "time", "time or null", "bandwidth", "size"
U32, I32, BOOL, STRING, STRING_NULL, FLOAT = "u32", "i32", "bool", "string", "string or null", "float"
LOG_LEVELS = ("error", "warning", "info", "debug", "trace")
GENERAL = {"stop_time": TIME, "seed": U32, "parallelism": U32, "bootstrap_end_time": TIME,
           "log_level": LOG_LEVELS, "heartbeat_interval": TIME_NULL, "data_directory": STRING,
           "template_directory": STRING_NULL, "progress": BOOL, "model_unblocked_syscall_latency": BOOL}
EXPERIMENTAL = {
    **dict.fromkeys(("use_sched_fifo", "use_syscall_counters", "use_object_counters", "use_preload_libc",
                     "use_preload_openssl_rng", "use_preload_openssl_crypto", "use_memory_manager",
                     "use_cpu_pinning", "use_worker_spinning", "use_dynamic_runahead", "socket_send_autotune",
                     "socket_recv_autotune", "report_errors_to_stderr", "use_new_tcp",
                     "native_preemption_enabled", "edge_bandwidth_limiting_enabled"), BOOL),
    **dict.fromkeys(("max_unapplied_cpu_latency", "unblocked_syscall_latency", "unblocked_vdso_latency",
                     "native_preemption_native_interval", "native_preemption_sim_interval"), TIME),
    "runahead": TIME_NULL, "socket_send_buffer": BYTES, "socket_recv_buffer": BYTES,
    "interface_qdisc": ("fifo", "round-robin"), "strace_logging_mode": ("off", "standard", "deterministic"),
    "scheduler": ("thread-per-host", "thread-per-core"), "edge_bandwidth_algorithm": ("token-bucket",),
    "edge_bandwidth_burst_ratio": FLOAT,
}
HOST_OPTIONS = {"log_level": LOG_LEVELS + (None,), "pcap_enabled": BOOL, "pcap_capture_size": BYTES}
HOST_KEYS = ("network_node_id", "processes", "ip_addr", "bandwidth_down", "bandwidth_up", "host_options")
PROCESS_KEYS = ("path", "args", "environment", "start_time", "shutdown_time", "shutdown_signal",
                "expected_final_state")
SIGNALS = ("SIGHUP SIGINT SIGQUIT SIGILL SIGTRAP SIGABRT SIGBUS SIGFPE SIGKILL SIGUSR1 SIGSEGV SIGUSR2 "
           "SIGPIPE SIGALRM SIGTERM SIGSTKFLT SIGCHLD SIGCONT SIGSTOP SIGTSTP SIGTTIN SIGTTOU SIGURG "
           "SIGXCPU SIGXFSZ SIGVTALRM SIGPROF SIGWINCH SIGIO SIGPWR SIGSYS").split()


def is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


SCALAR_OK = {
    U32: lambda v: is_int(v) and 0 <= v < 2 ** 32, I32: lambda v: is_int(v) and -2 ** 31 <= v < 2 ** 31,
    BOOL: lambda v: isinstance(v, bool), STRING: lambda v: isinstance(v, str),
    STRING_NULL: lambda v: isinstance(v, str),
    FLOAT: lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)}
WORDS = {U32: "an integer 0..4294967295", I32: "a 32-bit integer", BOOL: "true or false",
         STRING: "a string", STRING_NULL: "a string or null", FLOAT: "a number"}
