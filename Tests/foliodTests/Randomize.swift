/// Random bytes for a folio.
func randomize(_ folio: UnsafeMutableRawBufferPointer, using generator: inout some RandomNumberGenerator) {
    let words = folio.bindMemory(to: UInt64.self)
    for index in words.indices { words[index] = generator.next() }
}
