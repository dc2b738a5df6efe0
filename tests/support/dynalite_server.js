// Runs dynalite (DynamoDB on LevelDB, in memory) on 127.0.0.1 for the tests; prints "listening <port>".
// Unlike dynalite's own CLI it survives a client that dies mid-request, which the kill tests do on
// purpose: dynalite rethrows the request's 'aborted' error, an uncaught exception that ends the server.
'use strict'
const path = require('path')
const dynalite = require(path.join(__dirname, '..', '..', 'node_modules', 'dynalite'))

process.on('uncaughtException', (error) => {
  if (error && (error.code === 'ECONNRESET' || error.message === 'aborted')) return
  console.error(error)
  process.exit(1)
})

const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 })
server.listen(Number(process.argv[2] || 0), '127.0.0.1', () => {
  console.log(`listening ${server.address().port}`)
})
