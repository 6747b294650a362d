// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

/// @title IRootChain
/// @notice The Plasma root chain on L1: operator block commitments, deposits, the standard exit game and the
///         in-flight exit game (MoreVP).
/// @dev Everything a client or watcher must follow is an event. A standard exit is identified by the position of
///      the output it exits (`exitId == utxoPos`); an in-flight exit by the hash of its transaction (`txHash =
///      keccak256(txBytes)`), see docs/CONTRACTS.md. Blocks are stored in one slot each: the high 224 bits of the
///      Merkle root and the 32-bit L1 timestamp of the commitment.
interface IRootChain {
    /// @notice Life cycle of the exit of one output. An output leaves `None` at most once, ever.
    enum ExitStatus {
        /// No exit was ever started for this output.
        None,
        /// The exit is in the queue and may still be challenged.
        Active,
        /// The exit was paid out (or credited), found unfunded, or challenged; the output can never exit again.
        Closed
    }

    /// @notice One input of an in-flight transaction, as `startInFlightExit` proved it: the output at position
    ///         `txBytes.inputs[i]`. Every later call on the exit passes these back (they are in `InFlightExitStarted`).
    struct InFlightInput {
        /// keccak256 of the transaction that created the input.
        bytes32 txHash;
        /// The input's owner, who signed the in-flight transaction.
        address owner;
        /// The input's token (`address(0)` for ETH).
        address token;
        /// The input's amount.
        uint256 amount;
    }

    /// @notice The data of an in-flight exit that the contract keeps only as a hash: pass it to every call on the
    ///         exit. `bondOwner` is whoever holds the exit bond now: the starter, the last non-canonical
    ///         challenger, or the last responder (from the events).
    struct InFlightExit {
        /// The in-flight transaction's canonical bytes (its hash identifies the exit).
        bytes txBytes;
        /// One entry per input of `txBytes`, in order.
        InFlightInput[] inputs;
        /// The current owner of the in-flight exit bond.
        address bondOwner;
    }

    /// @notice A signed transaction that spends a given output: a competitor or a spend in a challenge.
    struct Spend {
        /// The spending transaction's canonical bytes (it need not be included anywhere).
        bytes txBytes;
        /// The index in its inputs of the output it spends.
        uint256 inputIndex;
        /// The 65-byte EIP-712 signature of the spent output's owner over it.
        bytes signature;
    }

    /// @notice What processing did with one piggyback.
    enum PiggybackOutcome {
        /// Amount and piggyback bond were transferred to the owner.
        Paid,
        /// The transfer failed at the receiver: amount (and bond) were credited to its withdrawable balance.
        Credited,
        /// The contract could not fund the amount (forged outputs drained it); the bond was returned.
        Unfunded,
        /// The output was already exited by another exit (or has a standard exit of its own); the bond was returned.
        AlreadyExited,
        /// The piggyback is on the side that is not paid (an input of a canonical exit or an output of a
        /// non-canonical one); the bond was returned.
        NotPaid
    }

    // ---------------------------------------------------------------------------------------------
    // Events
    // ---------------------------------------------------------------------------------------------

    /// @notice A deposit created the one-transaction deposit block `blknum`.
    /// @dev The deposit transaction is `Transaction(1, [], [Output(1, owner, token, amount)], bytes32(blknum))`;
    ///      its block root is the depth-16 root with that transaction as the only leaf (index 0).
    /// @param owner The depositor, owner of the single output.
    /// @param token The deposited token, `address(0)` for ETH.
    /// @param blknum The deposit block number (between two operator blocks).
    /// @param amount The deposited amount.
    event DepositCreated(address indexed owner, address indexed token, uint256 blknum, uint256 amount);

    /// @notice The operator committed the child-chain block `blknum`.
    /// @param blknum The block number (a multiple of 1000).
    /// @param root The full Merkle root of the block's transactions.
    /// @param timestamp The L1 timestamp of the commitment (used for exit priority).
    event BlockSubmitted(uint256 blknum, bytes32 root, uint256 timestamp);

    /// @notice A standard exit of the output at `utxoPos` entered the queue of `token`.
    /// @param utxoPos The exiting output's position; also the exit id.
    /// @param owner The output's owner, who started the exit and posted the bond.
    /// @param token The output's token (`address(0)` for ETH), i.e. the exit queue it is in.
    /// @param amount The output's amount.
    /// @param exitableAt The time from which `processExits` may pay the exit.
    event ExitStarted(
        uint256 indexed utxoPos, address indexed owner, address token, uint256 amount, uint256 exitableAt
    );

    /// @notice The exit `utxoPos` was challenged with a signed spend of its output and deleted.
    /// @param utxoPos The exit id (the exiting output's position).
    /// @param challenger Who challenged and received the exit bond.
    event ExitChallenged(uint256 indexed utxoPos, address challenger);

    /// @notice The exit `utxoPos` was finalized by `processExits`.
    /// @param utxoPos The exit id (the exited output's position).
    /// @param owner The output's owner.
    /// @param token The output's token.
    /// @param amount The output's amount.
    /// @param paid True if `amount` was transferred to `owner`; false if the transfer failed and `amount`
    ///        was credited to `owner`'s withdrawable balance instead (see `withdraw`).
    event ExitFinalized(uint256 indexed utxoPos, address owner, address token, uint256 amount, bool paid);

    /// @notice The exit `utxoPos` was popped, but the contract's balance of `token` less the credits it owes could not
    ///         cover `amount` (or `amount` plus the bond overflowed): nothing was paid or credited, and the output can
    ///         never exit again. Only forged outputs (or a token that does not hold what it reports) get here: the
    ///         exits ahead of it in priority were paid first. The bond is still returned if it can be funded.
    /// @param utxoPos The exit id.
    /// @param owner The output's owner.
    /// @param token The output's token.
    /// @param amount The output's amount.
    event ExitUnfunded(uint256 indexed utxoPos, address owner, address token, uint256 amount);

    /// @notice An in-flight exit of the transaction `txBytes` started. It carries everything a watcher needs to act
    ///         without another source: the transaction, its inputs as proved, its signatures (a signed spend of each
    ///         input) and its exit time. The exit has one queue entry in the queue of each token among its inputs
    ///         and outputs, `exitableAt << 128 | youngestInput` in `nextExit`'s form.
    /// @param txHash keccak256(txBytes), the exit's id.
    /// @param starter Who started it and posted the in-flight exit bond (its first bond owner).
    /// @param txBytes The in-flight transaction.
    /// @param inputs Its inputs' creating transaction hash, owner, token and amount, in order.
    /// @param signatures The inputs' EIP-712 signatures, 65 bytes (r ‖ s ‖ v) each, in input order: each is its owner's
    ///        signed spend of that input.
    /// @param exitableAt When processing may start; the first half (piggybacks, non-canonical challenges) ends at
    ///        `exitableAt - minExitPeriod() / 2`.
    event InFlightExitStarted(
        bytes32 indexed txHash,
        address indexed starter,
        bytes txBytes,
        InFlightInput[] inputs,
        bytes signatures,
        uint256 exitableAt
    );

    /// @notice The owner of input `inputIndex` of the in-flight exit `txHash` piggybacked it (posting the bond).
    event InFlightExitInputPiggybacked(bytes32 indexed txHash, address indexed owner, uint256 inputIndex);

    /// @notice The owner of output `outputIndex` of the in-flight exit `txHash` piggybacked it (posting the bond).
    event InFlightExitOutputPiggybacked(bytes32 indexed txHash, address indexed owner, uint256 outputIndex);

    /// @notice A competitor spending input `inputIndex` made the in-flight exit `txHash` non-canonical.
    /// @param challenger The new bond owner.
    /// @param competitorHash keccak256 of the competitor.
    /// @param competitorPosition The competitor's position `blknum * 1e9 + txIndex * 1e4`, or 0 if it was shown
    ///        without inclusion (then it counts as the youngest possible).
    event InFlightExitChallenged(
        bytes32 indexed txHash,
        address indexed challenger,
        uint256 inputIndex,
        bytes32 competitorHash,
        uint256 competitorPosition
    );

    /// @notice The in-flight transaction was shown included at `txPosition`, older than the competitor on record:
    ///         the exit is canonical again and `responder` is the new bond owner.
    event InFlightExitChallengeResponded(
        bytes32 indexed txHash, address indexed responder, uint256 txPosition
    );

    /// @notice The piggyback on input `inputIndex` was removed: the input is spent by another signed transaction.
    ///         `challenger` received its bond.
    event InFlightExitInputBlocked(bytes32 indexed txHash, address indexed challenger, uint256 inputIndex);

    /// @notice The piggyback on output `outputIndex` was removed: the output of the included in-flight transaction
    ///         is spent by a signed transaction. `challenger` received its bond.
    event InFlightExitOutputBlocked(bytes32 indexed txHash, address indexed challenger, uint256 outputIndex);

    /// @notice The in-flight exit `txHash`, with nothing piggybacked after its first half, returned its bond to
    ///         `bondOwner`; its queue entries are popped without payouts.
    event InFlightExitDeleted(bytes32 indexed txHash, address indexed bondOwner);

    /// @notice A piggybacked input was resolved by processing (see `PiggybackOutcome`).
    event InFlightExitInputWithdrawn(
        bytes32 indexed txHash,
        uint256 inputIndex,
        address owner,
        address token,
        uint256 amount,
        PiggybackOutcome outcome
    );

    /// @notice A piggybacked output was resolved by processing (see `PiggybackOutcome`).
    event InFlightExitOutputWithdrawn(
        bytes32 indexed txHash,
        uint256 outputIndex,
        address owner,
        address token,
        uint256 amount,
        PiggybackOutcome outcome
    );

    /// @notice The queue entry of the in-flight exit `txHash` in the queue of `token` was processed.
    /// @param canonical Whether the exit was treated as canonical (pays outputs) or not (pays inputs); fixed by its
    ///        first processed entry: not challenged (or answered) and no input exited elsewhere.
    /// @param finished True when this was its last entry: the exit is gone (its transaction may exit in flight
    ///        again; outputs and inputs already exited stay exited).
    event InFlightExitProcessed(bytes32 indexed txHash, address indexed token, bool canonical, bool finished);

    /// @notice A payout to `owner` failed and `amount` of `token` was credited to its withdrawable balance.
    event WithdrawalCredited(address indexed owner, address indexed token, uint256 amount);

    /// @notice `owner` pulled its whole withdrawable balance of `token`.
    event Withdrawn(address indexed owner, address indexed token, uint256 amount);

    // ---------------------------------------------------------------------------------------------
    // Errors
    // ---------------------------------------------------------------------------------------------

    /// @notice Constructor: the operator must be a non-zero address.
    error InvalidOperator(address operator);
    /// @notice Constructor: the minimum exit period must be in [1, 2^32) seconds.
    error InvalidMinExitPeriod(uint256 minExitPeriod);
    /// @notice Only the operator may submit blocks.
    error NotOperator(address caller);
    /// @notice The L1 timestamp no longer fits the 32-bit block record (after February 2106).
    error TimestampOverflow(uint256 timestamp);
    /// @notice 999 deposit blocks already follow the last operator block; wait for the next one.
    error TooManyDeposits(uint256 nextChildBlock);
    /// @notice The block would be numbered past `18,446,744,073`, the largest block number whose positions fit the
    ///         64-bit `utxoPos` (after operator block 18,446,744,000 the chain is full): its outputs could never exit.
    error BlockNumberOverflow(uint256 blknum);
    /// @notice A deposit of zero.
    error ZeroDeposit();
    /// @notice An ETH deposit below the deploy-time minimum (`minDeposit()`), which keeps dust from filling the 999
    ///         deposit slots between two operator blocks.
    error DepositTooSmall(uint256 amount, uint256 minDeposit);
    /// @notice `depositToken` needs a token contract; use `deposit()` for ETH.
    error InvalidToken(address token);
    /// @notice The contract received a different amount than requested (fee-on-transfer or rebasing token).
    error DepositAmountMismatch(uint256 expected, uint256 received);
    /// @notice `startStandardExit` must be sent exactly the exit bond.
    error InvalidBond(uint256 expected, uint256 received);
    /// @notice The position is not a well-formed output position (< 2^64, txIndex < 65536, outputIndex < 4).
    error InvalidUtxoPos(uint256 utxoPos);
    /// @notice No block was committed with this number.
    error BlockNotFound(uint256 blknum);
    /// @notice The output index is beyond the transaction's outputs.
    error OutputIndexOutOfRange(uint256 outputIndex, uint256 outputCount);
    /// @notice Only the output's owner may start its exit.
    error NotOutputOwner(address caller, address owner);
    /// @notice A zero-amount output cannot exit.
    error ZeroAmountExit(uint256 utxoPos);
    /// @notice The inclusion proof does not lead to the committed root of the block.
    error InvalidInclusionProof(uint256 utxoPos);
    /// @notice This output already exited (or is exiting, or its exit was challenged): once, ever.
    error ExitAlreadyStarted(uint256 utxoPos);
    /// @notice There is no active exit with this id.
    error ExitNotActive(uint256 utxoPos);
    /// @notice `inputIndex` is beyond the spending transaction's inputs.
    error InputIndexOutOfRange(uint256 inputIndex, uint256 inputCount);
    /// @notice The spending transaction's input at `inputIndex` is not the exiting output.
    error InputDoesNotSpendExit(uint256 input, uint256 utxoPos);
    /// @notice The signature is malformed or does not recover to the exit's owner.
    error InvalidSignature(address recovered, address owner);
    /// @notice Not enough gas left to give a payout its full gas allowance; send more gas.
    error InsufficientGas(uint256 gasLeft, uint256 required);
    /// @notice The caller has no withdrawable balance of this token.
    error NothingToWithdraw(address owner, address token);
    /// @notice `withdrawTo` needs a non-zero recipient.
    error InvalidRecipient(address to);
    /// @notice The ETH transfer of a withdrawal failed.
    error EthTransferFailed(address to, uint256 amount);
    /// @notice This output (output `outputIndex` of `txHash`) already has a standard exit, at this or another
    ///         position, or was exited by an in-flight exit: an output exits once, whatever the kind of exit.
    error OutputAlreadyExited(bytes32 txHash, uint256 outputIndex);

    // ----------------------------------------------------------------------- in-flight exits

    /// @notice The in-flight exit game runs only by delegatecall from its root chain.
    error NotRootChain(address self);
    /// @notice An in-flight exit needs a transaction with inputs (a deposit exits by a standard exit).
    error InFlightTxHasNoInputs();
    /// @notice `inputTxs`, `inputProofs` and `signatures` (or `inputs`) need one entry per input.
    error InputCountMismatch(uint256 inputCount, uint256 given);
    /// @notice Inputs `first` and `second` of the in-flight transaction are the same position.
    error DuplicateInput(uint256 first, uint256 second);
    /// @notice Input `index` claims to be created by the in-flight transaction itself.
    error InFlightTxSpendsItself(uint256 index);
    /// @notice Per token, the in-flight transaction's outputs exceed its inputs (or a sum overflows).
    error OutputsExceedInputs(address token);
    /// @notice There is already an in-flight exit of this transaction (until its last queue entry is processed).
    error InFlightExitAlreadyStarted(bytes32 txHash);
    /// @notice There is no in-flight exit of this transaction.
    error InFlightExitNotFound(bytes32 txHash);
    /// @notice The `inputs` or `bondOwner` passed do not hash to what the exit recorded.
    error InFlightExitDataMismatch(bytes32 txHash);
    /// @notice A piggyback index beyond the transaction's inputs (0..3) or outputs (bit 4 + j of a bitmap).
    error PiggybackIndexInvalid(uint256 index);
    /// @notice Only the owner of an input or output piggybacks it.
    error NotPiggybackOwner(address caller, address owner);
    /// @notice A zero amount cannot be piggybacked.
    error ZeroAmountPiggyback(uint256 index);
    /// @notice This input or output is already piggybacked.
    error AlreadyPiggybacked(bytes32 txHash, uint256 index);
    /// @notice The first half of the exit period (piggybacks, non-canonical challenges) ended at `firstHalfEnd`.
    error FirstHalfOver(bytes32 txHash, uint256 firstHalfEnd);
    /// @notice The first half of the exit period has not ended yet (until `firstHalfEnd`).
    error FirstHalfNotOver(bytes32 txHash, uint256 firstHalfEnd);
    /// @notice Processing of the exit began: canonicity is final and challenges and responses are closed.
    error InFlightExitAlreadyProcessing(bytes32 txHash);
    /// @notice The competitor is the in-flight transaction itself (or the spend is).
    error SpendIsInFlightTx(bytes32 txHash);
    /// @notice Not a transaction position `blknum * 1e9 + txIndex * 1e4` (or the block does not exist).
    error InvalidTxPosition(uint256 txPosition);
    /// @notice A competitor must be older than the one on record (`recorded`, 2^64 - 1 for one not included).
    error CompetitorNotOlder(uint256 competitorPosition, uint256 recorded);
    /// @notice The exit is canonical: there is no challenge to respond to.
    error InFlightExitNotChallenged(bytes32 txHash);
    /// @notice The response must show the transaction older than the competitor on record.
    error ResponseNotOlder(uint256 txPosition, uint256 competitorPosition);
    /// @notice This input or output is not piggybacked (or was already processed).
    error PiggybackNotActive(bytes32 txHash, uint256 index);
    /// @notice Something is piggybacked: the exit is processed, not deleted.
    error InFlightExitHasPiggybacks(bytes32 txHash);
    /// @notice The exit's bond was already paid (it was deleted).
    error InFlightExitDeletedAlready(bytes32 txHash);
    /// @notice `token` is none of the exit's input or output tokens, or its queue entry was already processed.
    error NotInFlightExitToken(bytes32 txHash, address token);
    /// @notice The exit's entry is not at the top of the queue of `token`, or not yet exitable.
    error InFlightExitNotNext(bytes32 txHash, address token);

    // ---------------------------------------------------------------------------------------------
    // Blocks and deposits
    // ---------------------------------------------------------------------------------------------

    /// @notice Commit the next operator block (numbered `nextChildBlock()`); operator only.
    /// @dev Resets the deposit-block counter: the next deposit is numbered `blknum + 1`.
    function submitBlock(bytes32 root) external;

    /// @notice Deposit `msg.value` wei of ETH (at least `minDeposit()`) into a new deposit block owned by the caller.
    function deposit() external payable;

    /// @notice Deposit `amount` of the ERC20 `token` (pulled with transferFrom; approve first).
    function depositToken(address token, uint256 amount) external;

    // ---------------------------------------------------------------------------------------------
    // Exit game
    // ---------------------------------------------------------------------------------------------

    /// @notice Start the standard exit of the output at `utxoPos`, sending exactly `exitBond()` wei.
    /// @param utxoPos `blknum * 1e9 + txIndex * 1e4 + outputIndex` of the output; becomes the exit id.
    /// @param txBytes The canonical ABI encoding of the transaction that created the output.
    /// @param inclusionProof 16 sibling hashes (512 bytes), leaf level first, for leaf index `txIndex`.
    function startStandardExit(uint256 utxoPos, bytes calldata txBytes, bytes calldata inclusionProof)
        external
        payable;

    /// @notice Delete the active exit `utxoPos` by showing a transaction, EIP-712-signed by the exit's owner,
    ///         that spends the exiting output. The bond goes to the caller.
    /// @param utxoPos The exit id (the exiting output's position).
    /// @param spendingTxBytes The canonical encoding of the spending transaction (need not be included).
    /// @param inputIndex The index in `spendingTx.inputs` that equals `utxoPos`.
    /// @param signature 65 bytes r ‖ s ‖ v (v ∈ {27, 28}, low s) over the EIP-712 digest of the spend.
    function challengeStandardExit(
        uint256 utxoPos,
        bytes calldata spendingTxBytes,
        uint256 inputIndex,
        bytes calldata signature
    ) external;

    /// @notice Pay, in priority order, up to `maxExits` exits of `token` whose `exitableAt` has passed.
    /// @dev Every popped queue entry counts toward `maxExits`, including entries of challenged exits, which
    ///      are skipped. A failed transfer credits the owner's withdrawable balance instead of reverting.
    /// @return processed The number of queue entries popped.
    function processExits(address token, uint256 maxExits) external returns (uint256 processed);

    // ---------------------------------------------------------------------------------------------
    // In-flight exits (MoreVP): see docs/CONTRACTS.md for who may do what, and when
    // ---------------------------------------------------------------------------------------------

    /// @notice Start the in-flight exit of a payment whose inclusion is unknown or withheld, sending exactly
    ///         `inFlightExitBond()` plus `piggybackBond()` for each piggyback in `piggybacks`.
    /// @dev Checks: canonical encoding, at least one input, inputs distinct, each input committed (its creating
    ///      transaction at the input's position, with its inclusion proof; deposits included) and signed by its
    ///      owner over the transaction's EIP-712 digest, per token inputs >= outputs, no in-flight exit of this
    ///      transaction yet. `exitableAt = max(inputs' exit bounds, now + MEP)`, where an input's bound is its block
    ///      time + 2 MEP (+ MEP for a deposit block), so the exit never precedes a standard exit of its inputs.
    /// @param txBytes The in-flight transaction.
    /// @param inputTxs For each input, the transaction that created it.
    /// @param inputProofs For each input, the 512-byte inclusion proof of its creating transaction.
    /// @param signatures For each input, its owner's 65-byte signature over `txBytes`.
    /// @param piggybacks The caller's own piggybacks in the same call: bit i for input i, bit 4 + j for output j.
    function startInFlightExit(
        bytes calldata txBytes,
        bytes[] calldata inputTxs,
        bytes[] calldata inputProofs,
        bytes[] calldata signatures,
        uint256 piggybacks
    ) external payable;

    /// @notice Piggyback input `inputIndex` (its owner only, sending `piggybackBond()`), during the first half.
    function piggybackInFlightExitOnInput(InFlightExit calldata ife, uint256 inputIndex) external payable;

    /// @notice Piggyback output `outputIndex` of `txBytes` (its owner only, sending `piggybackBond()`), during the
    ///         first half. Refused for an output that already has a standard exit or exited.
    function piggybackInFlightExitOnOutput(bytes calldata txBytes, uint256 outputIndex) external payable;

    /// @notice During the first half, show a competitor: a different transaction spending input `inputIndex`,
    ///         signed by that input's owner, older than the competitor on record. The exit becomes non-canonical
    ///         and the caller becomes the bond owner.
    /// @param competitorPosition `blknum * 1e9 + txIndex * 1e4` with `competitorProof` if the competitor is
    ///        included, or 0 (proof ignored) if not: an unincluded competitor counts as the youngest.
    function challengeInFlightExitNotCanonical(
        InFlightExit calldata ife,
        uint256 inputIndex,
        Spend calldata competitor,
        uint256 competitorPosition,
        bytes calldata competitorProof
    ) external;

    /// @notice Before processing, show the in-flight transaction included at `txPosition`, older than the
    ///         competitor on record: the exit is canonical again and the caller becomes the bond owner.
    function respondToNonCanonicalChallenge(
        InFlightExit calldata ife,
        uint256 txPosition,
        bytes calldata inclusionProof
    ) external;

    /// @notice Remove the piggyback on input `inputIndex` by showing another transaction spending that input, signed
    ///         by its owner (it need not be included). The piggyback bond goes to the caller.
    function challengeInFlightExitInputSpent(
        InFlightExit calldata ife,
        uint256 inputIndex,
        Spend calldata spend
    ) external;

    /// @notice Remove the piggyback on output `outputIndex` by showing the in-flight transaction included at
    ///         `txPosition` and a transaction spending that output, signed by its owner. The bond goes to the caller.
    function challengeInFlightExitOutputSpent(
        bytes calldata txBytes,
        uint256 txPosition,
        bytes calldata inclusionProof,
        uint256 outputIndex,
        Spend calldata spend
    ) external;

    /// @notice After the first half, return the bond of an exit with nothing piggybacked to its bond owner.
    function deleteInFlightExit(InFlightExit calldata ife) external;

    /// @notice Process the exit's entry at the top of the queue of `token` (exitable, in priority order; anyone may
    ///         call it with the public data of the start event): the first processed entry fixes canonicity and
    ///         pays the bond to its owner; each entry pays the piggybacks of its token (outputs if canonical, inputs
    ///         if not) with their bonds. `processExits` stops at an in-flight entry; this pops it.
    function processInFlightExit(address token, InFlightExit calldata ife) external;

    /// @notice Pull the caller's whole withdrawable balance of `token` (credited by failed payouts).
    function withdraw(address token) external;

    /// @notice Send the caller's whole withdrawable balance of `token` to `to`: for an owner that cannot receive
    ///         ETH (a contract without a payable fallback, e.g. the owner of token exits whose ETH bond was credited).
    /// @dev Emits `Withdrawn(caller, token, amount)`, like `withdraw`.
    function withdrawTo(address token, address to) external;

    // ---------------------------------------------------------------------------------------------
    // Views
    // ---------------------------------------------------------------------------------------------

    /// @notice The operator allowed to submit blocks.
    function operator() external view returns (address);

    /// @notice The minimum exit period (MEP), in seconds.
    function minExitPeriod() external view returns (uint256);

    /// @notice The exact bond, in wei, that `startStandardExit` requires.
    function exitBond() external view returns (uint256);

    /// @notice The number the next operator block will get.
    function nextChildBlock() external view returns (uint256);

    /// @notice The smallest ETH deposit, in wei (deploy-time). Token deposits have no minimum: token units have no
    ///         common scale (see docs/CONTRACTS.md).
    function minDeposit() external view returns (uint256);

    /// @notice The number the next deposit block will get: `nextChildBlock() + 1` while the 999 slots after the
    ///         last operator block are full (deposits revert with `TooManyDeposits` until the operator's next block).
    function nextDepositBlock() external view returns (uint256);

    /// @notice The stored record of block `blknum`.
    /// @return rootPrefix The block root with its low 32 bits cleared (zero if there is no such block).
    /// @return timestamp The L1 timestamp of the commitment (zero if there is no such block).
    function getBlock(uint256 blknum) external view returns (bytes32 rootPrefix, uint256 timestamp);

    /// @notice Whether `root` matches the stored record of block `blknum` (its high 224 bits).
    function isBlockRoot(uint256 blknum, bytes32 root) external view returns (bool);

    /// @notice The state of the exit of the output at `utxoPos`.
    /// @return status None, Active or Closed.
    /// @return owner The exit's owner (zero if `None`).
    /// @return amount The exiting amount while `Active`, zero otherwise.
    function getExit(uint256 utxoPos) external view returns (ExitStatus status, address owner, uint256 amount);

    /// @notice Number of entries (including challenged ones not yet popped) in the exit queue of `token`.
    function exitQueueLength(address token) external view returns (uint256);

    /// @notice The smallest priority in the exit queue of `token`, or 0 if it is empty.
    /// @dev priority = exitableAt << 128 | utxoPos; for an in-flight exit, utxoPos is its youngest input's position
    ///      (`exitQueueTop` tells the two kinds apart).
    function nextExit(address token) external view returns (uint256 priority);

    /// @notice The amount of `token` that `owner` can pull with `withdraw`.
    function withdrawable(address owner, address token) external view returns (uint256);

    /// @notice The exact bond, in wei, that `startInFlightExit` requires (paid to the bond owner at processing).
    function inFlightExitBond() external view returns (uint256);

    /// @notice The exact bond, in wei, of each piggyback (returned at processing unless challenged).
    function piggybackBond() external view returns (uint256);

    /// @notice The state of the in-flight exit of `txHash` (all zero / false if there is none).
    /// @return exitableAt When processing may start (0 if there is no exit).
    /// @return piggybacks Bitmap of current piggybacks: bit i for input i, bit 4 + j for output j.
    /// @return canonical False while a competitor on record is unanswered.
    /// @return competitorPosition The competitor on record (2^64 - 1 if unincluded), or the transaction's own
    ///         position after a response; 0 if none.
    /// @return processing True once its first queue entry was processed (canonicity final).
    /// @return dataHash keccak256(abi.encode(inputs, bondOwner)) of the `InFlightExit` data to pass back.
    function getInFlightExit(bytes32 txHash)
        external
        view
        returns (
            uint256 exitableAt,
            uint256 piggybacks,
            bool canonical,
            uint256 competitorPosition,
            bool processing,
            bytes32 dataHash
        );

    /// @notice Whether output `outputIndex` of the transaction `txHash` has had a standard exit (at any position)
    ///         and whether an in-flight exit paid it (as an output or input) or spent it (as an input of a
    ///         canonical paid exit). Either one closes the output to every other exit.
    function outputExits(bytes32 txHash, uint256 outputIndex)
        external
        view
        returns (bool standardExitStarted, bool exitedInFlight);

    /// @notice The top of the queue of `token`: its time, its position (the output's, or an in-flight exit's
    ///         youngest input) and whether it is an in-flight exit (which `processInFlightExit` pops).
    function exitQueueTop(address token)
        external
        view
        returns (uint256 exitableAt, uint256 position, bool inFlight);

    /// @notice The EIP-712 digest a spender signs for `txBytes` (reverts if the bytes are not canonical).
    function txDigest(bytes calldata txBytes) external view returns (bytes32);
}
