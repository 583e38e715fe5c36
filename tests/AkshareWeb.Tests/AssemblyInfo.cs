// Each test class starts its own app on its own database; on two cores, two at a time keeps them honest
// about concurrency without starving the timing-sensitive ones.
[assembly: CollectionBehavior(MaxParallelThreads = 2)]
