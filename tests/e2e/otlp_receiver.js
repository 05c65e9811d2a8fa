// SPDX-License-Identifier: MIT
//
// otlp_receiver.js: a minimal OTLP/HTTP metrics receiver for the end-to-end
// tests. It listens on 127.0.0.1 (a random port, written to --port-file),
// decodes every POST (gunzip when Content-Encoding: gzip; protobuf with the
// OpenTelemetry JS generated code, JSON with JSON.parse) and appends one JSON
// line per request to --out:
//   {"seq":0,"t_ms":...,"status":200,"contentType":"...","contentEncoding":"...",
//    "headers":{...},"body":{...decoded request, lowerCamelCase...}}
// Protobuf bodies are converted with 64-bit integers as decimal strings and
// enums as numbers, which is what the OTLP JSON mapping says, so both kinds
// read the same. --fail MODE --count N answers the first N requests with
// MODE: 500, 429 (with Retry-After: 1) or hang (never answers).
//
//   node otlp_receiver.js --root PATH/TO/root.js --out FILE --port-file FILE \
//        [--fail 500|429|hang --count N]
'use strict';

const fs = require('fs');
const http = require('http');
const zlib = require('zlib');

function parseArgs(argv) {
	const args = { fail: 'none', count: 0 };
	for (let i = 2; i < argv.length; i += 2) {
		const key = argv[i].replace(/^--/, '');
		const value = argv[i + 1];
		if (value === undefined) throw new Error(`missing value for ${argv[i]}`);
		args[key === 'port-file' ? 'portFile' : key] = value;
	}
	for (const k of ['root', 'out', 'portFile'])
		if (!args[k]) throw new Error(`--${k === 'portFile' ? 'port-file' : k} is required`);
	args.count = parseInt(args.count, 10) || 0;
	if (!['none', '500', '429', 'hang'].includes(args.fail))
		throw new Error(`bad --fail ${args.fail}`);
	return args;
}

const args = parseArgs(process.argv);
const root = require(args.root);
const Request = root.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest;
const Response = root.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceResponse;
let seq = 0;

function decode(body, contentType) {
	if (contentType.startsWith('application/json')) return JSON.parse(body.toString('utf8'));
	const msg = Request.decode(body);
	return Request.toObject(msg, { longs: String, enums: Number, bytes: String });
}

function record(entry) {
	fs.appendFileSync(args.out, JSON.stringify(entry) + '\n');
}

const server = http.createServer((req, res) => {
	const chunks = [];
	req.on('data', (c) => chunks.push(c));
	req.on('end', () => {
		const n = seq++;
		const contentType = req.headers['content-type'] || '';
		const contentEncoding = req.headers['content-encoding'] || '';
		const entry = {
			seq: n,
			t_ms: Date.now(),
			method: req.method,
			url: req.url,
			contentType,
			contentEncoding,
			headers: req.headers,
		};
		let failMode = n < args.count ? args.fail : 'none';
		try {
			let body = Buffer.concat(chunks);
			if (contentEncoding === 'gzip') body = zlib.gunzipSync(body);
			entry.body = decode(body, contentType);
		} catch (e) {
			entry.error = String(e);
			failMode = 'bad';
		}
		entry.status = { none: 200, 500: 500, 429: 429, hang: 0, bad: 400 }[failMode];
		record(entry);
		if (failMode === 'hang') return; // the client's timeout ends it
		const headers = {};
		if (failMode === '429') headers['Retry-After'] = '1';
		if (entry.status === 200 && contentType.startsWith('application/json')) {
			headers['Content-Type'] = 'application/json';
			res.writeHead(200, headers);
			res.end('{}');
		} else if (entry.status === 200) {
			headers['Content-Type'] = 'application/x-protobuf';
			res.writeHead(200, headers);
			res.end(Buffer.from(Response.encode(Response.create({})).finish()));
		} else {
			headers['Content-Type'] = 'text/plain';
			res.writeHead(entry.status, headers);
			res.end(entry.error || `injected ${entry.status}\n`);
		}
	});
});

server.listen(0, '127.0.0.1', () => {
	fs.writeFileSync(args.portFile, `${server.address().port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
