#!/usr/bin/env node
// cairn-fd: the network daemon. This version runs Director, FD and SD together
// in local mode only (`cairn backup PATH`); the daemons with config files,
// TLS and the network protocol are the work of the next milestone (issue 3).
console.error('cairn-fd: network daemon mode is not available in this version; use local mode: cairn backup PATH (see README). [CAIRN_E_NOT_AVAILABLE]');
process.exit(2);
