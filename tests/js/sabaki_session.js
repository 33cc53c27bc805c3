// Drives an engine with Sabaki's own GTP library (@sabaki/gtp), as Sabaki does:
// start-up queries, board sync, a move, then lz-analyze parsed with Sabaki's
// parseAnalysis (src/modules/analysis.js) and stopped by the next command
// (protocol_version), then quit. Prints one JSON object on stdout.
//
// usage: node sabaki_session.js <engine executable> [engine args...]

const {Controller} = require('@sabaki/gtp')

// Sabaki's parseAnalysis, minus the board object (vertices kept as strings)
function parseAnalysis(line) {
  return line
    .split(/\s*info\s+/)
    .slice(1)
    .map(x => x.trim())
    .map(x => {
      let matchPV = x.match(/(pass|[A-Za-z]\d+)(\s+(pass|[A-Za-z]\d+))*$/)
      if (matchPV == null) return null
      let passIndex = matchPV[0].indexOf('pass')
      if (passIndex < 0) passIndex = Infinity
      return [
        x.slice(0, matchPV.index).trim().split(/\s+/).slice(0, -1),
        matchPV[0].slice(0, passIndex).split(/\s+/).filter(x => x.length >= 2)
      ]
    })
    .filter(x => x != null)
    .map(([tokens, pv]) => {
      let keys = tokens.filter((_, i) => i % 2 === 0)
      let values = tokens.filter((_, i) => i % 2 === 1)
      keys.push('pv')
      values.push(pv)
      return keys.reduce((acc, x, i) => ((acc[x] = values[i]), acc), {})
    })
    .filter(({move}) => move.match(/^[A-Za-z]\d+$/))
    .map(({move, visits, winrate, pv}) => ({
      move,
      visits: +visits,
      winrate: winrate.includes('.') ? +winrate * 100 : +winrate / 100,
      pv
    }))
}

async function main() {
  let [path, ...args] = process.argv.slice(2)
  let engine = new Controller(path, args)
  let log = {}
  engine.start()

  let send = async (name, ...rest) => {
    let response = await engine.sendCommand({name, args: rest})
    return response
  }

  log.name = (await send('name')).content
  log.protocol_version = (await send('protocol_version')).content
  log.version = (await send('version')).content
  let commands = (await send('list_commands')).content.split('\n')
  // Sabaki picks the first of these that the engine lists
  log.analyze_command = ['analyze', 'kata-analyze', 'lz-analyze'].find(x => commands.includes(x)) || null
  log.komi = await send('komi', '7.5')
  log.boardsize = await send('boardsize', '19')
  log.clear_board = await send('clear_board')
  log.play = await send('play', 'B', 'D4')
  log.bad_play = await send('play', 'W', 'D4')
  log.genmove = (await send('genmove', 'W')).content
  log.undo = await send('undo')
  log.replay = await send('play', 'W', 'Q16')

  // lz-analyze B 10: '=' at once, then info lines, stopped by the next command
  let lines = []
  let parsed = []
  let stopSent = false
  let stopResponse = null
  let analysis = engine.sendCommand({id: 41, name: 'lz-analyze', args: ['B', '10']}, ({line}) => {
    lines.push(line)
    if (line.startsWith('info')) parsed.push(parseAnalysis(line))
    if (parsed.length >= 2 && !stopSent) {
      stopSent = true
      stopResponse = engine.sendCommand({id: 42, name: 'protocol_version'})
    }
  })
  let analysisResponse = await analysis
  log.analysis = {
    first_line: lines[0],
    lines: lines.length,
    parsed: parsed[0],
    id: analysisResponse.id,
    error: analysisResponse.error
  }
  log.after_stop = await stopResponse

  // Lizzie-style numbered commands, stopped with `name`
  let kata = []
  let kataDone = engine.sendCommand({id: 50, name: 'kata-analyze', args: ['interval', '5']}, ({line}) => {
    if (line.startsWith('info')) {
      kata.push(parseAnalysis(line))
      if (kata.length === 1) engine.sendCommand({id: 51, name: 'name'}).then(r => (log.after_kata = r))
    }
  })
  await kataDone
  log.kata_first = kata[0] ? kata[0][0] : null
  log.genmove_analyze = []
  await engine.sendCommand({id: 60, name: 'lz-genmove_analyze', args: ['B', '10']}, ({line}) => {
    log.genmove_analyze.push(line)
  })
  log.final = await send('name')
  let exited = new Promise(resolve => engine.process.once('exit', (code, signal) => resolve({code, signal})))
  await engine.stop()
  log.exit = await exited
  process.stdout.write(JSON.stringify(log) + '\n')
}

main().catch(err => {
  process.stderr.write(String(err && err.stack || err) + '\n')
  process.exit(1)
})
