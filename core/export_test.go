package core

// AfterDrillRestore lets tests look at a drill's scratch copy, handed to its
// owner, before it is removed.
var AfterDrillRestore = &afterDrillRestore
